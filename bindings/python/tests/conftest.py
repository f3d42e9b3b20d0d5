"""Shared fixtures: a fresh store in pytest's tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

import hardstore

SEC = 1_000_000


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "test.hardstore"


@pytest.fixture
def store(store_path: Path) -> Iterator[hardstore.Store]:
    with hardstore.open(store_path) as s:
        yield s


@pytest.fixture
def clock() -> Iterator[hardstore.ManualClock]:
    with hardstore.ManualClock(1_000 * SEC) as c:
        yield c


@pytest.fixture
def clocked_store(store_path: Path, clock: hardstore.ManualClock) -> Iterator[hardstore.Store]:
    with hardstore.open(store_path, clock=clock, idempotency_ttl_ms=3600 * 1000) as s:
        yield s
