"""Every Python example in the binding's README runs, each in a fresh folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def examples() -> List[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_has_an_example_per_area() -> None:
    text = README.read_text(encoding="utf-8")
    for area in ("Audit log", "Audit retention", "Signed checkpoints", "Replication", "Logs", "Idempotency keys",
                 "App state and transactions", "Dead letters", "Alerts", "Restore points",
                 "Backups", "Health", "Maintenance", "Metrics", "Rate limits", "IP rules", "Sealed fields", "Webhook outbox"):
        assert f"\n## {area}\n" in text, area
    assert len(examples()) >= 18


@pytest.mark.parametrize("index", range(len(examples())))
def test_readme_example_runs(index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code = compile(examples()[index], f"README.md example {index + 1}", "exec")
    exec(code, {"__name__": f"readme_example_{index + 1}"})
