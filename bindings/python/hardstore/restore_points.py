"""Restore points: roll the mutable state back without ever rolling back the audit log."""

from __future__ import annotations

import ctypes
from ctypes import byref, c_bool, c_size_t, c_uint64
from dataclasses import dataclass
from typing import Any, Iterator, List, NamedTuple, Optional, Union

from ._common import StoreBound
from ._lib import lib, take_bytes, to_path, to_text
from ._structs import hardstore_bytes, hardstore_restore_point_info, hardstore_space_report
from .errors import BufferTooSmall, NotFound, Result

Text = Union[str, bytes]

MAX_LABEL = 256


@dataclass(frozen=True)
class RestorePoint:
    """A restore point: its id (increasing, never reused), when it was created, the
    audit log's size and root then, the BLAKE3 digest of the mutable state, its label."""

    id: int
    created_us: int
    audit_size: int
    audit_root: bytes
    digest: bytes
    label: str


class SpaceReport(NamedTuple):
    """The space the file holds and the bytes of old values restore points keep."""

    points: int
    max_points: int
    allocated_bytes: int
    pinned_bytes: int


class RestorePoints(StoreBound):
    """The store's restore points (``store.restore_points``)."""

    def _point(self, info: hardstore_restore_point_info, label: Optional[str] = None) -> RestorePoint:
        return RestorePoint(
            id=info.id,
            created_us=info.created_us,
            audit_size=info.audit_size,
            audit_root=bytes(info.audit_root),
            digest=bytes(info.digest),
            label=self.label(info.id) if label is None else label,
        )

    def create(self, label: Text) -> RestorePoint:
        """Creates a restore point labelled ``label`` (1..=256 bytes of UTF-8).
        :class:`~hardstore.LimitReached` when the maximum number exist."""
        data = to_text(label, "label")
        info = hardstore_restore_point_info()
        lib.hardstore_restore_point_create(self._h, data, len(data), byref(info))
        return self._point(info, data.decode("utf-8"))

    def ids(self) -> List[int]:
        """The ids of every restore point, oldest first."""
        n = c_size_t(0)
        cap = 0
        for _ in range(8):  # points may be created between the two calls
            buf = (c_uint64 * cap)() if cap else None
            try:
                lib.hardstore_restore_point_list(self._h, buf, cap, byref(n))
            except BufferTooSmall:
                cap = n.value + 4
                continue
            return [] if buf is None else list(buf[: n.value])
        raise BufferTooSmall(Result.BUFFER_TOO_SMALL, "restore points kept changing", "hardstore_restore_point_list")

    def list(self) -> List[RestorePoint]:
        """Every restore point, oldest first (ones deleted meanwhile are skipped)."""
        points = []
        for i in self.ids():
            p = self.find(i)
            if p is not None:
                points.append(p)
        return points

    def __iter__(self) -> Iterator[RestorePoint]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self.ids())

    def find(self, id: int) -> Optional[RestorePoint]:
        """Restore point ``id``, or ``None`` when there is none."""
        found = c_bool(False)
        info = hardstore_restore_point_info()
        lib.hardstore_restore_point_get(self._h, int(id), byref(found), byref(info))
        if not found.value:
            return None
        try:
            return self._point(info)
        except NotFound:  # deleted between the two calls
            return None

    def get(self, id: int) -> RestorePoint:
        """Restore point ``id``. :class:`~hardstore.NotFound` when there is none."""
        p = self.find(id)
        if p is None:
            raise NotFound(Result.NOT_FOUND, f"no restore point {id}", "hardstore_restore_point_get")
        return p

    def label(self, id: int) -> str:
        """Restore point ``id``'s label. :class:`~hardstore.NotFound` when there is none."""
        out = ctypes.POINTER(hardstore_bytes)()
        lib.hardstore_restore_point_label(self._h, int(id), byref(out))
        return (take_bytes(out) or b"").decode("utf-8")

    def delete(self, id: int) -> bool:
        """Deletes restore point ``id``; returns whether it existed."""
        existed = c_bool(False)
        lib.hardstore_restore_point_delete(self._h, int(id), byref(existed))
        return bool(existed.value)

    def verify(self, id: int) -> None:
        """Checks that the point's state still has its recorded digest:
        :class:`~hardstore.Corrupted` when not, :class:`~hardstore.NotFound`."""
        lib.hardstore_restore_point_verify(self._h, int(id))

    def restore(self, id: int, actor: Text = "") -> int:
        """Rolls the mutable state back to point ``id`` (points taken after it are
        gone), keeping the audit log and log ring, and appends an audit entry by
        ``actor`` naming the point; returns that entry's seq. Durable."""
        a = to_text(actor, "actor")
        seq = c_uint64(0)
        lib.hardstore_restore_point_restore(self._h, int(id), a, len(a), byref(seq))
        return seq.value

    def export(self, id: int, path: Any) -> int:
        """Writes point ``id``'s state as a new standalone store file at ``path`` (which
        must not exist); returns the rows copied."""
        p = to_path(path)
        rows = c_uint64(0)
        lib.hardstore_restore_point_export(self._h, int(id), p, len(p), byref(rows))
        return rows.value

    def space(self) -> SpaceReport:
        """The space the file holds, and what restore points pin."""
        r = hardstore_space_report()
        lib.hardstore_restore_point_space(self._h, byref(r))
        return SpaceReport(r.points, r.max_points, r.allocated_bytes, r.pinned_bytes)
