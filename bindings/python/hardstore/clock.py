"""A manual clock for tests: time moves only when told to."""

from __future__ import annotations

import ctypes

from ._common import Owned
from ._lib import lib
from ._structs import hardstore_clock


class ManualClock(Owned):
    """A clock that reads ``start_us`` (microseconds since the Unix epoch) until
    :meth:`set` or :meth:`advance` moves it. Give it to :func:`hardstore.open` as
    ``clock=``; every store opened with it sees each change at once. A store keeps its
    own reference, so closing the clock early is safe.
    """

    _free = staticmethod(lambda p: lib.hardstore_clock_free(p))

    def __init__(self, start_us: int) -> None:
        ptr = ctypes.POINTER(hardstore_clock)()
        lib.hardstore_clock_new_manual(int(start_us), ctypes.byref(ptr))
        super().__init__(ptr)
        self._now = int(start_us)

    @property
    def now_us(self) -> int:
        """The time this clock was last set to through this object."""
        return self._now

    def set(self, now_us: int) -> None:
        """Sets the clock to ``now_us``."""
        lib.hardstore_clock_set(self._live(), int(now_us))
        self._now = int(now_us)

    def advance(self, us: int) -> None:
        """Moves the clock forward by ``us`` microseconds."""
        lib.hardstore_clock_advance(self._live(), int(us))
        self._now += int(us)

    def advance_ms(self, ms: int) -> None:
        """Moves the clock forward by ``ms`` milliseconds."""
        self.advance(int(ms) * 1000)

    def advance_secs(self, secs: float) -> None:
        """Moves the clock forward by ``secs`` seconds."""
        self.advance(int(secs * 1_000_000))
