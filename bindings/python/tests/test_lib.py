"""Loading the library, the declared signatures and structs, and error mapping."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import hardstore
from hardstore import _lib, _structs
from hardstore.errors import Result, error_class, make_error

HERE = Path(__file__).resolve().parent
PKG_ROOT = HERE.parent
HEADER = PKG_ROOT.parent.parent / "include" / "hardstore.h"


def _header_text() -> str:
    if not HEADER.is_file():
        pytest.skip(f"no header at {HEADER}")
    return HEADER.read_text()


def test_version_and_result_names() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", hardstore.version())
    assert hardstore.result_name(4) == "HARDSTORE_TOO_LONG"
    assert hardstore.result_name(999) == "HARDSTORE_UNKNOWN_RESULT"
    for code in Result:
        assert hardstore.result_name(code) == "HARDSTORE_" + code.name


def test_error_classes_per_code() -> None:
    assert error_class(Result.NOT_FOUND) is hardstore.NotFound
    assert error_class(Result.FENCED) is hardstore.Fenced
    assert error_class(Result.WRONG_KEY) is hardstore.WrongKey
    assert error_class(Result.CLOSED) is hardstore.StoreClosed
    assert error_class(Result.TOO_LONG) is hardstore.TooLong
    assert error_class(12345) is hardstore.HardstoreError
    e = make_error(Result.TOO_LONG, "actor is 300 bytes", "hardstore_x")
    assert isinstance(e, hardstore.InvalidArgument) and isinstance(e, ValueError)
    assert e.code == 4 and e.code_name == "HARDSTORE_TOO_LONG" and e.message == "actor is 300 bytes"
    assert str(e) == "HARDSTORE_TOO_LONG: actor is 300 bytes (in hardstore_x)"
    assert isinstance(make_error(Result.NOT_FOUND), LookupError)
    # Every code but OK has its own class.
    classes = {error_class(c) for c in Result if c != Result.OK}
    assert len(classes) == len(Result) - 1
    import pickle

    again = pickle.loads(pickle.dumps(e))
    assert type(again) is hardstore.TooLong and again.message == e.message


def test_failed_call_carries_the_library_message() -> None:
    with pytest.raises(hardstore.InvalidArgument) as info:
        hardstore.inclusion_proof_len(5, 5)
    assert info.value.code == Result.INVALID_ARGUMENT
    assert info.value.function == "hardstore_inclusion_proof_len"
    assert info.value.message  # the library says why
    assert hardstore.last_error_message() == info.value.message


def test_long_error_message_is_read_whole(tmp_path: Path) -> None:
    # A path far longer than the first 512-byte buffer shows up whole in the message.
    long_name = "d" * 200
    deep = tmp_path.joinpath(*[long_name] * 6) / "x.hardstore"
    with pytest.raises(hardstore.HardstoreError) as info:
        hardstore.open(deep)
    assert len(str(deep)) > 1000
    assert info.value.message


def test_force_panic_maps_to_panic() -> None:
    if not _lib.has("hardstore_test_force_panic"):
        with pytest.raises(NotImplementedError):
            hardstore.force_panic()
        pytest.skip("this build lacks hardstore_test_force_panic")
    with pytest.raises(hardstore.Panic) as info:
        hardstore.force_panic()
    assert "force_panic" in info.value.message


def test_every_header_function_is_declared() -> None:
    text = _header_text()
    names = set(re.findall(r"\b(hardstore_[a-z0-9_]+)\s*\(", text))
    # Drop typedef'd callback names and non-functions.
    declared = set(_lib.SIGNATURES) | set(_lib.OPTIONAL)
    functions = {n for n in names if re.search(rf"\b{n}\s*\((?!\*)", text) and n not in
                 ("hardstore_progress_cb", "hardstore_dlq_op")}
    missing = sorted(functions - declared)
    assert not missing, f"functions in the header without a signature: {missing}"
    extra = sorted(declared - functions)
    assert not extra, f"signatures for functions not in the header: {extra}"
    for name in _lib.SIGNATURES:
        fn = getattr(_lib.lib, name)
        assert fn.argtypes is not None, name


def test_argument_counts_match_the_header() -> None:
    text = _header_text()
    for name, (_restype, argtypes) in {**_lib.SIGNATURES, **_lib.OPTIONAL}.items():
        m = re.search(rf"\b{name}\(([^)]*)\);", text)
        assert m, name
        params = m.group(1).strip()
        count = 0 if params in ("", "void") else params.count(",") + 1
        assert count == len(argtypes), f"{name}: header has {count} parameters, binding {len(argtypes)}"


def test_structs_match_the_c_compiler(tmp_path: Path) -> None:
    _header_text()
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler")
    lines = []
    for name, cls in _structs.STRUCTS.items():
        lines.append(f'printf("{name} size %zu\\n", sizeof(struct {name}));')
        for field, _ in cls._fields_:
            lines.append(f'printf("{name}.{field} %zu\\n", offsetof(struct {name}, {field}));')
    src = tmp_path / "layout.c"
    src.write_text(textwrap.dedent("""\
        #include <stddef.h>
        #include <stdio.h>
        #include "hardstore.h"
        int main(void) {
        %s
          return 0;
        }
        """) % "\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run([cc, "-std=c11", "-I", str(HEADER.parent), str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    expected = {}
    for name, cls in _structs.STRUCTS.items():
        expected[f"{name} size"] = ctypes.sizeof(cls)
        for field, _ in cls._fields_:
            expected[f"{name}.{field}"] = getattr(cls, field).offset
    got = {line.rsplit(" ", 1)[0]: int(line.rsplit(" ", 1)[1]) for line in out.splitlines()}
    assert got == expected


def _import_with(env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import hardstore; print(hardstore.LIBRARY_PATH)"],
        env=env, cwd=str(cwd), capture_output=True, text=True,
    )


def test_import_error_names_the_fix(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HARDSTORE_LIB"}
    env["PYTHONPATH"] = str(PKG_ROOT)
    env["HARDSTORE_LIB"] = str(tmp_path / "nope.so")
    r = _import_with(env, tmp_path)
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "HARDSTORE_LIB" in r.stderr and "cargo build --release" in r.stderr


def test_search_finds_a_cargo_target_folder(tmp_path: Path) -> None:
    # A copy of the package inside a fake repo with target/release/libhardstore.so.
    repo = tmp_path / "repo"
    shutil.copytree(PKG_ROOT / "hardstore", repo / "bindings" / "python" / "hardstore")
    release = repo / "target" / "release"
    release.mkdir(parents=True)
    (release / _lib.library_file_name()).symlink_to(_lib.LIBRARY_PATH)
    env = {k: v for k, v in os.environ.items() if k != "HARDSTORE_LIB"}
    env["PYTHONPATH"] = str(repo / "bindings" / "python")
    r = _import_with(env, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(release / _lib.library_file_name())
    # Without it, and with no HARDSTORE_LIB, the import fails with the fix in the message.
    (release / _lib.library_file_name()).unlink()
    r = _import_with(env, tmp_path)
    assert r.returncode != 0 and "HARDSTORE_LIB" in r.stderr
