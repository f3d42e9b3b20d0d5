"""App state: a namespaced key/value table for the application's own records."""

from __future__ import annotations

import ctypes
from ctypes import byref, c_bool
from typing import Optional, Union

from ._common import Durability, StoreBound
from ._lib import lib, take_bytes, to_bytes, to_text
from ._structs import hardstore_bytes

Text = Union[str, bytes]
Data = Union[bytes, bytearray, memoryview, str]


class KV(StoreBound):
    """App state (``store.kv``), keyed by (namespace, key). Namespace 1..=64 bytes of
    UTF-8, key 1..=1024 bytes (any bytes; ``str`` is encoded as UTF-8), value at most
    1 MiB. Get, put and delete only: no scans."""

    def put(self, namespace: Text, key: Data, value: Data, *,
            durability: Durability = Durability.DURABLE) -> None:
        """Writes ``(namespace, key) = value``."""
        ns, k, v = to_text(namespace, "namespace"), to_bytes(key, "key"), to_bytes(value, "value")
        lib.hardstore_kv_put(self._h, ns, len(ns), k, len(k), v, len(v), int(durability))

    def get(self, namespace: Text, key: Data, default: Optional[bytes] = None) -> Optional[bytes]:
        """The value of ``(namespace, key)``, or ``default`` when absent."""
        ns, k = to_text(namespace, "namespace"), to_bytes(key, "key")
        found = c_bool(False)
        out = ctypes.POINTER(hardstore_bytes)()
        lib.hardstore_kv_get(self._h, ns, len(ns), k, len(k), byref(found), byref(out))
        value = take_bytes(out)
        if not found.value:
            return default
        return value if value is not None else b""

    def delete(self, namespace: Text, key: Data, *, durability: Durability = Durability.DURABLE) -> bool:
        """Deletes ``(namespace, key)``; returns whether it existed."""
        ns, k = to_text(namespace, "namespace"), to_bytes(key, "key")
        existed = c_bool(False)
        lib.hardstore_kv_delete(self._h, ns, len(ns), k, len(k), int(durability), byref(existed))
        return bool(existed.value)

    def contains(self, namespace: Text, key: Data) -> bool:
        """Whether ``(namespace, key)`` exists."""
        return self.get(namespace, key) is not None
