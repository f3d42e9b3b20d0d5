"""Small pieces every area uses: durability, lazy paging over cursors, owned handles."""

from __future__ import annotations

import enum
import sys
import threading
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Generic,
    Iterator,
    List,
    Optional,
    Tuple,
    TypeVar,
)

from .errors import StoreClosed, Result

if TYPE_CHECKING:  # pragma: no cover
    from .store import Store

T = TypeVar("T")


def _public_caller() -> Optional[str]:
    """The public hardstore call running now, such as ``"Audit.append"``: the innermost
    frame of this package that is not a private helper (``_h``, ``_live``...) nor a
    dunder. ``None`` when there is none (a closed object used from outside any call)."""
    frame = sys._getframe(2)  # the frame that called closed_error
    while frame is not None:
        code = frame.f_code
        module = str(frame.f_globals.get("__name__", ""))
        in_package = module == "hardstore" or module.startswith("hardstore.")
        if in_package and not code.co_name.startswith("_"):
            qualname = getattr(code, "co_qualname", None)  # Python 3.11+
            if qualname:
                # A page fetcher defined inside a query method names that method.
                return str(qualname).split(".<locals>", 1)[0]
            owner = frame.f_locals.get("self")
            return f"{type(owner).__name__}.{code.co_name}" if owner is not None else code.co_name
        frame = frame.f_back  # type: ignore[assignment]
    return None


def closed_error(message: str) -> StoreClosed:
    """A :class:`StoreClosed` naming the call that found the store (or object) closed,
    as every other error names the C function that failed."""
    return StoreClosed(Result.CLOSED, message, _public_caller())


class Durability(enum.IntEnum):
    """When a write returns: ``DURABLE`` once on disk, ``BUFFERED`` once committed in
    memory and visible (synced within the flush interval, on the next durable write or
    on close)."""

    DURABLE = 0
    BUFFERED = 1


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a query: its items and the cursor of the next page (``None`` when
    nothing more matches). Pass the cursor as ``cursor=`` to resume later."""

    items: List[T]
    next_cursor: Optional[bytes]


class PagedQuery(Generic[T]):
    """An iterable over every match of a query, fetching one page at a time as it is
    consumed (the library's cursor functions carry it from page to page).

    Iterate it for the items, or call :meth:`pages` for :class:`Page` objects. Each
    iteration starts again from the query's first cursor. No library resource is held
    between pages, so an abandoned iteration leaks nothing.
    """

    def __init__(self, fetch: Callable[[Optional[bytes]], Tuple[List[T], Optional[bytes]]],
                 cursor: Optional[bytes] = None) -> None:
        self._fetch = fetch
        self._cursor = cursor

    def pages(self) -> Iterator[Page[T]]:
        """Yields the pages lazily, the first from the starting cursor."""
        cursor = self._cursor
        while True:
            items, cursor = self._fetch(cursor)
            yield Page(items, cursor)
            if cursor is None:
                return

    def first_page(self) -> Page[T]:
        """Only the first page."""
        return next(iter(self.pages()))

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items

    def to_list(self) -> List[T]:
        """Every match, all pages fetched."""
        return list(self)


class StoreBound:
    """Base of the area objects (``store.audit``, ``store.logs``...): holds the store
    and gives its live C handle (raising :class:`StoreClosed` once it is closed)."""

    def __init__(self, store: "Store") -> None:
        self._store = store

    @property
    def _h(self) -> Any:
        return self._store._handle


class Owned:
    """A library object owned by Python: freed once, by :meth:`close`, by leaving a
    ``with`` block, or when garbage collected."""

    _free: Optional[Callable[[Any], None]] = None

    def __init__(self, ptr: Any) -> None:
        self._ptr = ptr
        self._lock = threading.Lock()

    @property
    def closed(self) -> bool:
        """Whether the object was freed."""
        return not self._ptr

    def _live(self) -> Any:
        if not self._ptr:
            raise closed_error(f"this {type(self).__name__} was closed")
        return self._ptr

    def close(self) -> None:
        """Frees the library object (idempotent)."""
        with self._lock:
            ptr, self._ptr = self._ptr, None
        if ptr and self._free is not None:
            type(self)._free(ptr)  # type: ignore[misc]

    def __enter__(self: Any) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass
