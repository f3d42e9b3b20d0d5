"""Replication: a store ships to a file:// target (and to moto's S3 when .ci/run
starts it: HARDSTORE_TEST_S3), its status, and a restore on a fresh path at the newest
batch and at a change, with the same audit root."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List

import pytest

import hardstore


def _targets(tmp_path: Path) -> List[str]:
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    out = [f"file://{bucket}"]
    if os.environ.get("HARDSTORE_TEST_S3"):
        out.append(f"{os.environ['HARDSTORE_TEST_S3']}/py-{tmp_path.name}")
    return out


def _write(s: hardstore.Store, lo: int, hi: int) -> None:
    for i in range(lo, hi):
        s.audit.append("acme", "order.put", resource=f"o{i}")


@pytest.mark.parametrize("which", [0, 1])
def test_replicate_and_restore(tmp_path: Path, which: int) -> None:
    targets = _targets(tmp_path)
    if which >= len(targets):
        pytest.skip("no S3 server: HARDSTORE_TEST_S3 is unset (.ci/run sets it)")
    url = targets[which]
    with hardstore.open(tmp_path / "src.hs") as s:
        assert s.replication_status() is None
        with pytest.raises(hardstore.InvalidArgument):
            s.wait_replicated(0.01)
        s.replicate(url, lag_ms=50)
        with pytest.raises(hardstore.InvalidArgument):
            s.replicate(url)
        _write(s, 0, 10)
        assert s.wait_replicated(30)
        mid = s.replication_status()
        assert mid is not None and mid.lag_batches == 0 and mid.last_error is None
        mid_root = s.audit.root()
        _write(s, 10, 20)
        assert s.wait_replicated(30)
        root = s.audit.root()
    r = hardstore.restore_replica(url, tmp_path / "r.hs")
    assert (r.audit_size, r.audit_root) == (20, root)
    at = hardstore.restore_replica(url, tmp_path / "mid.hs", change=mid.shipped_seq)
    assert (at.audit_size, at.audit_root) == (10, mid_root)
    with hardstore.open(tmp_path / "mid.hs") as m:
        assert len(m.audit) == 10 and m.audit.verify().ok
    with pytest.raises(hardstore.NotFound):
        empty = tmp_path / "empty"
        empty.mkdir()
        hardstore.restore_replica(f"file://{empty}", tmp_path / "e.hs")
