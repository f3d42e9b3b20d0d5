"""Idempotency keys: a request safe to retry, with leases, fencing and cached responses."""

from __future__ import annotations

import ctypes
import enum
from ctypes import byref, c_bool, c_int, c_size_t, c_uint16, c_uint64
from dataclasses import dataclass
from typing import Any, Optional, Tuple, Union

from ._common import Owned, StoreBound
from ._lib import borrowed, lib, to_bytes, to_text
from ._structs import hardstore_idem_info, hardstore_idem_response, hardstore_idem_token, u8p
from .errors import InvalidArgument, Result

Text = Union[str, bytes]

DEFAULT_LEASE_MS = 60_000
MAX_KEY_LEN = 255


class IdemOutcome(enum.IntEnum):
    """What :meth:`Idempotency.begin` answered (``enum hardstore_idem_outcome``)."""

    STARTED = 0
    REPLAY = 1
    IN_PROGRESS = 2
    MISMATCH = 3


class IdemState(enum.IntEnum):
    """A key's state in :class:`IdemInfo`."""

    IN_PROGRESS = 0
    COMPLETED = 1
    FAILED = 2


def status_arg(status: Optional[int]) -> Tuple[bool, int]:
    """(has_status, status) for the C calls; a status must fit in 16 bits."""
    if status is None:
        return False, 0
    if not 0 <= int(status) <= 0xFFFF:
        raise InvalidArgument(Result.INVALID_ARGUMENT, f"status {status} is not in 0..=65535", None)
    return True, int(status)


@dataclass(frozen=True)
class Recovery:
    """A recovery point a crashed earlier holder saved between steps."""

    name: str
    data: bytes


class Token(Owned):
    """Proof of owning a key, from a :class:`Started` answer. Closing it frees the
    memory only; it does not release the key (use :meth:`Idempotency.release`)."""

    _free = staticmethod(lambda p: lib.hardstore_idem_token_free(p))

    @property
    def fence(self) -> int:
        """The token's fencing number."""
        return int(lib.hardstore_idem_token_fence(self._live()))

    @property
    def recovery(self) -> Optional[Recovery]:
        """The recovery point a crashed earlier holder saved, if any."""
        has = c_bool(False)
        np, nn, dp, dn = u8p(), c_size_t(0), u8p(), c_size_t(0)
        lib.hardstore_idem_token_recovery(self._live(), byref(has), byref(np), byref(nn), byref(dp), byref(dn))
        if not has.value:
            return None
        return Recovery(borrowed(np, nn.value).decode("utf-8"), borrowed(dp, dn.value))

    def __repr__(self) -> str:
        return "Token(closed)" if self.closed else f"Token(fence={self.fence})"


@dataclass(frozen=True)
class IdemResponse:
    """A cached response: its body, its status (``None`` when none was stored) and
    whether it was cached by a terminal failure rather than a completion."""

    body: bytes
    status: Optional[int]
    failed: bool


class BeginResult:
    """Base of the four answers of :meth:`Idempotency.begin`; each has ``outcome``.
    Usable as a context manager: leaving the block frees a :class:`Started` token."""

    outcome: IdemOutcome

    def close(self) -> None:
        """Frees what the answer owns (a token)."""

    def __enter__(self) -> "BeginResult":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Started(BeginResult):
    """You own the key: do the work, then complete, fail or release it with ``token``."""

    outcome = IdemOutcome.STARTED

    def __init__(self, token: Token) -> None:
        self.token = token

    def close(self) -> None:
        self.token.close()

    def __repr__(self) -> str:
        return f"Started({self.token!r})"


class Replay(BeginResult):
    """Completed (or failed terminally) before: ``response`` is the cached response."""

    outcome = IdemOutcome.REPLAY

    def __init__(self, response: IdemResponse) -> None:
        self.response = response

    def __repr__(self) -> str:
        return f"Replay({self.response!r})"


class InProgress(BeginResult):
    """Someone holds a live lease: retry after ``retry_after_us`` (HTTP 409)."""

    outcome = IdemOutcome.IN_PROGRESS

    def __init__(self, retry_after_us: int) -> None:
        self.retry_after_us = retry_after_us

    def __repr__(self) -> str:
        return f"InProgress(retry_after_us={self.retry_after_us})"


class Mismatch(BeginResult):
    """The key was used for a different request (HTTP 422)."""

    outcome = IdemOutcome.MISMATCH

    def __repr__(self) -> str:
        return "Mismatch()"


@dataclass(frozen=True)
class IdemInfo:
    """A key's state, from :meth:`Idempotency.get`."""

    state: IdemState
    fence: int
    created_us: int
    expires_us: int
    lease_until_us: int


def _response(ptr: Any) -> IdemResponse:
    body, n = u8p(), c_size_t(0)
    has, status, failed = c_bool(False), c_uint16(0), c_bool(False)
    lib.hardstore_idem_response_get(ptr, byref(body), byref(n), byref(has), byref(status), byref(failed))
    return IdemResponse(borrowed(body, n.value), status.value if has.value else None, bool(failed.value))


class Idempotency(StoreBound):
    """The store's idempotency keys (``store.idempotency``, also ``store.idem``)."""

    def begin(self, tenant: Text, key: Text, request: Union[bytes, str], *,
              lease_ms: int = DEFAULT_LEASE_MS) -> BeginResult:
        """Claims (``tenant``, ``key``) for the request whose fingerprint input is
        ``request`` (the method, path and body: what makes two requests the same),
        with a lease of ``lease_ms``. Returns :class:`Started`, :class:`Replay`,
        :class:`InProgress` or :class:`Mismatch`."""
        t, k, r = to_text(tenant, "tenant"), to_text(key, "key"), to_bytes(request, "request")
        outcome = c_int(-1)
        token = ctypes.POINTER(hardstore_idem_token)()
        resp = ctypes.POINTER(hardstore_idem_response)()
        retry = c_uint64(0)
        lib.hardstore_idem_begin(self._h, t, len(t), k, len(k), r, len(r), int(lease_ms),
                                 byref(outcome), byref(token), byref(resp), byref(retry))
        if outcome.value == IdemOutcome.STARTED:
            lib.hardstore_idem_response_free(resp)  # NULL by contract; harmless
            return Started(Token(token))
        lib.hardstore_idem_token_free(token)  # NULL by contract; harmless
        if outcome.value == IdemOutcome.REPLAY:
            try:
                return Replay(_response(resp))
            finally:
                lib.hardstore_idem_response_free(resp)
        lib.hardstore_idem_response_free(resp)
        if outcome.value == IdemOutcome.IN_PROGRESS:
            return InProgress(retry.value)
        return Mismatch()

    def complete(self, token: Token, body: Union[bytes, str] = b"", *, status: Optional[int] = None) -> None:
        """Caches ``body`` (at most 1 MiB) and ``status`` as the key's response, durably.
        Raises :class:`~hardstore.Fenced` if the holder was fenced off."""
        has, st = status_arg(status)
        b = to_bytes(body, "body")
        lib.hardstore_idem_complete(self._h, token._live(), has, st, b, len(b))

    def fail(self, token: Token, body: Union[bytes, str] = b"", *, status: Optional[int] = None) -> None:
        """Caches a terminal failure (retries replay it, flagged ``failed``), durably."""
        has, st = status_arg(status)
        b = to_bytes(body, "body")
        lib.hardstore_idem_fail(self._h, token._live(), has, st, b, len(b))

    def release(self, token: Token) -> None:
        """Frees the key so a retry starts afresh (for retryable failures)."""
        lib.hardstore_idem_release(self._h, token._live())

    def abandon(self, token: Token) -> None:
        """Ends the lease now but keeps the key and its recovery point, so the next
        begin takes over at once with that recovery point."""
        lib.hardstore_idem_abandon(self._h, token._live())

    def renew(self, token: Token, lease_ms: int) -> None:
        """Extends the token's lease to ``lease_ms`` from now."""
        lib.hardstore_idem_renew(self._h, token._live(), int(lease_ms))

    def save_recovery(self, token: Token, name: Text, data: Union[bytes, str]) -> None:
        """Saves a recovery point (a UTF-8 name and bytes, together at most 1 MiB)."""
        n, d = to_text(name, "name"), to_bytes(data, "data")
        lib.hardstore_idem_save_recovery(self._h, token._live(), n, len(n), d, len(d))

    def purge_expired(self, limit: int = 10_000) -> int:
        """Deletes up to ``limit`` expired keys; returns how many."""
        n = c_size_t(0)
        lib.hardstore_idem_purge_expired(self._h, int(limit), byref(n))
        return n.value

    def get(self, tenant: Text, key: Text) -> Optional[IdemInfo]:
        """The key's state, or ``None`` when it does not exist (or expired)."""
        t, k = to_text(tenant, "tenant"), to_text(key, "key")
        found = c_bool(False)
        info = hardstore_idem_info()
        lib.hardstore_idem_get(self._h, t, len(t), k, len(k), byref(found), byref(info))
        if not found.value:
            return None
        return IdemInfo(IdemState(info.state), info.fence, info.created_us, info.expires_us, info.lease_until_us)
