"""Sealed fields end to end (the ground of tests/c/sealing_test.c): keys as bytes and
from a Python callable, seal and open, a sealed value put inside a transaction, shred
(every copy, in app state and a dead letter, raises Shredded; the audit log still
verifies; a later seal starts afresh), rotation (add, make primary, re-wrap in steps,
destroy asking for its count, disable and enable), the keyset's list, a wrong key and a
missing key raising KeyUnavailable, cut, edited and foreign blobs raising SealedInvalid,
a callback that raises or answers badly never reaching the library, and bad input
refused with the right exception."""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import pytest

import hardstore
from hardstore import KeyInfo, KeyStatus, Options, RewrapReport

from conftest import SEC

T0 = 1_000 * SEC  # the manual clock's start (conftest)
K1, K2 = bytes([1]) * 32, bytes([2]) * 32
KEYS = {1: K1, 2: K2}


def _open(path: Path, keys: Optional[Dict[int, bytes]] = None, **kw: object) -> hardstore.Store:
    return hardstore.open(path, Options(**kw).sealing_keys(KEYS if keys is None else keys))


def _actions(store: hardstore.Store) -> List[str]:
    return [e.action for e in store.audit.query("hardstore")]


def _wait_for(cond: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_seal_open_and_a_sealed_put_in_a_transaction(store_path: Path) -> None:
    with _open(store_path) as s:
        sealing = s.sealing
        assert isinstance(sealing, hardstore.Sealing)
        sealing.add_key(1)
        card = sealing.seal("user:42", "4111 1111 1111 1111")  # str: sealed as UTF-8
        assert isinstance(card, bytes) and b"4111" not in card
        assert sealing.open(card) == b"4111 1111 1111 1111"
        assert sealing.open(bytearray(card)) == sealing.open(memoryview(card))
        assert sealing.seal("user:42", b"x") != sealing.seal("user:42", b"x")  # fresh nonces
        assert sealing.open(sealing.seal(b"user:42", b"")) == b""  # bytes subject, empty value
        binary = bytes(range(256))
        assert sealing.open(sealing.seal("user:42", binary)) == binary

        with s.transaction() as tx:
            tx.kv_put_sealed("users", b"42", "user:42", b"ana@example.com")
            tx.kv_put_sealed("users", "43", b"user:43", "bo@example.com")
            tx.audit_append("acme", "user.update", resource="user/42")
        assert tx.committed and len(tx.audit_seqs) == 1
        stored = s.kv.get("users", b"42")
        assert stored is not None and b"ana" not in stored
        assert sealing.open(stored) == b"ana@example.com"
        assert sealing.open(s.kv.get("users", b"43") or b"") == b"bo@example.com"
        # A new subject's data key committed with the transaction.
        assert [k.subjects for k in sealing.keys()] == [2]


def test_shred_makes_every_copy_unreadable_and_the_log_still_verifies(store_path: Path) -> None:
    with _open(store_path) as s:
        sealing = s.sealing
        sealing.add_key(1)
        card = sealing.seal("user:42", b"4111 1111 1111 1111")
        other = sealing.seal("user:7", b"kept")
        with s.transaction() as tx:
            tx.kv_put_sealed("users", b"42", "user:42", b"ana@example.com")
        s.kv.put("cards", b"42", card)  # a copy of a blob made outside the store
        dl = s.dlq.record("acme", "email", card, error="550", permanent=True)
        stored = s.kv.get("users", b"42")
        assert stored is not None

        assert sealing.shred("user:42") is True
        assert sealing.shred("user:42") is False  # shredded already
        assert sealing.shred("user:nobody") is False  # never sealed for
        for blob in (card, stored, s.kv.get("cards", b"42"), s.dlq.get(dl).payload):
            with pytest.raises(hardstore.Shredded) as info:
                sealing.open(blob)  # type: ignore[arg-type]
            assert info.value.code == hardstore.Result.SHREDDED == 24
            assert info.value.code_name == "HARDSTORE_SHREDDED"
            assert info.value.function == "hardstore_sealing_open"
            assert "user:42" in info.value.message
        assert sealing.open(other) == b"kept"  # other subjects stay
        report = s.audit.verify()
        assert report.ok and report.first_bad_seq is None
        assert _actions(s) == ["sealing.key_add", "sealing.shred"]
        shred = list(s.audit.query("hardstore", action="sealing.shred"))
        assert [e.resource for e in shred] == ["subject/user:42"]

        # A later seal starts afresh; the old fields stay shredded.
        again = sealing.seal("user:42", b"new")
        assert sealing.open(again) == b"new"
        with pytest.raises(hardstore.Shredded):
            sealing.open(card)
    with _open(store_path) as s:  # durable across a reopen
        with pytest.raises(hardstore.Shredded):
            s.sealing.open(card)
        assert s.sealing.open(other) == b"kept"


def test_rotation_rewrap_and_destroy_asking_for_its_count(store_path: Path,
                                                          clock: hardstore.ManualClock) -> None:
    with _open(store_path, clock=clock) as s:
        sealing = s.sealing
        sealing.add_key(1)
        blobs = {f"user:{i}": sealing.seal(f"user:{i}", f"v{i}") for i in range(5)}
        clock.advance(SEC)
        sealing.add_key(2)
        sealing.set_primary(2)
        fresh = sealing.seal("user:new", b"wrapped by 2")
        assert [(k.id, k.primary, k.subjects) for k in sealing.keys()] == [
            (1, False, 5), (2, True, 1)]

        size = s.audit.size()
        with pytest.raises(hardstore.ConfirmationRequired) as info:
            sealing.destroy_key(1)
        assert info.value.code == hardstore.Result.CONFIRMATION_REQUIRED
        assert info.value.function == "hardstore_sealing_destroy_key"
        assert "5" in info.value.message
        with pytest.raises(hardstore.ConfirmationRequired):
            sealing.destroy_key(1, confirm=4)
        assert s.audit.size() == size and sealing.keys()[0].status == KeyStatus.ENABLED

        # Re-wrap in bounded steps until nothing remains.
        assert sealing.rewrap(step=2) == RewrapReport(rewrapped=2, remaining=3)
        assert sealing.rewrap(2) == RewrapReport(2, 1)
        assert sealing.rewrap() == RewrapReport(1, 0)
        assert sealing.rewrap() == RewrapReport(0, 0)
        assert sealing.destroy_key(1, confirm=0) == 0
        for subject, blob in blobs.items():
            assert sealing.open(blob) == f"v{subject[5:]}".encode()
        assert sealing.open(fresh) == b"wrapped by 2"

        keys = sealing.keys()
        assert keys == [
            KeyInfo(id=1, status=KeyStatus.DESTROYED, primary=False, available=True,
                    added_at=T0, subjects=0),
            KeyInfo(id=2, status=KeyStatus.ENABLED, primary=True, available=True,
                    added_at=T0 + SEC, subjects=6),
        ]
        assert isinstance(keys[0].status, KeyStatus)
        with pytest.raises(hardstore.InvalidArgument):
            sealing.disable_key(2)  # the primary
        with pytest.raises(hardstore.KeyUnavailable):
            sealing.enable_key(1)  # destroyed for ever
        with pytest.raises(hardstore.KeyUnavailable):
            sealing.set_primary(1)
        assert _actions(s) == ["sealing.key_add", "sealing.key_add", "sealing.key_primary",
                               "sealing.rewrap", "sealing.rewrap", "sealing.rewrap",
                               "sealing.key_destroy"]  # a step that moved nothing: no entry
        steps = list(s.audit.query("hardstore", action="sealing.rewrap"))
        assert [e.details_dict["rewrapped"] for e in steps] == ["2", "2", "1"]
        assert s.audit.verify().ok


def test_destroying_a_key_that_still_wraps_subjects_loses_them(store_path: Path) -> None:
    with _open(store_path) as s:
        sealing = s.sealing
        sealing.add_key(1)
        lost = sealing.seal("user:1", b"gone")
        sealing.add_key(2)
        sealing.set_primary(2)
        kept = sealing.seal("user:2", b"kept")
        assert sealing.destroy_key(1, confirm=1) == 1
        with pytest.raises(hardstore.KeyUnavailable) as info:
            sealing.open(lost)
        assert info.value.code == hardstore.Result.KEY_UNAVAILABLE == 25
        assert "destroyed" in info.value.message
        assert sealing.open(kept) == b"kept"


def test_a_disabled_key_refuses_until_enabled(store_path: Path) -> None:
    with _open(store_path) as s:
        sealing = s.sealing
        sealing.add_key(1)
        blob = sealing.seal("user:1", b"v")
        sealing.add_key(2)
        sealing.set_primary(2)
        sealing.disable_key(1)
        assert sealing.keys()[0].status == KeyStatus.DISABLED
        with pytest.raises(hardstore.KeyUnavailable) as info:
            sealing.open(blob)
        assert "disabled" in info.value.message
        with pytest.raises(hardstore.KeyUnavailable):
            sealing.set_primary(1)
        sealing.enable_key(1)
        assert sealing.open(blob) == b"v"
        assert _actions(s)[-2:] == ["sealing.key_disable", "sealing.key_enable"]


def test_maintenance_rewraps_after_a_rotation(store_path: Path) -> None:
    with _open(store_path) as s:
        s.sealing.add_key(1)
        blobs = [s.sealing.seal(f"u{i}", b"v") for i in range(3)]
        assert s.maintenance().keys_rewrapped == 0  # nothing due
        s.sealing.add_key(2)
        s.sealing.set_primary(2)
        first = s.maintenance(step=2)
        assert first.keys_rewrapped == 2 and first.more_due and not first.errors
        assert s.maintenance(step=2).keys_rewrapped == 1
        assert s.sealing.rewrap() == RewrapReport(0, 0)
        assert [b for b in blobs if s.sealing.open(b) != b"v"] == []


def test_a_missing_key_or_other_bytes_raise_key_unavailable(store_path: Path) -> None:
    with _open(store_path) as s:
        s.sealing.add_key(1)
        s.sealing.add_key(2)
        s.sealing.set_primary(2)
        blob = s.sealing.seal("user:7", b"kept")
        with pytest.raises(hardstore.KeyUnavailable) as info:
            s.sealing.add_key(9)  # not given to the options
        assert info.value.function == "hardstore_sealing_add_key" and "9" in info.value.message
    # Without key 2 the field is unavailable, named as such.
    with _open(store_path, {1: K1}) as s:
        with pytest.raises(hardstore.KeyUnavailable) as info:
            s.sealing.open(blob)
        assert info.value.function == "hardstore_sealing_open" and "2" in info.value.message
        assert [(k.id, k.available) for k in s.sealing.keys()] == [(1, True), (2, False)]
    # Other bytes under id 2: the store knows its key by a check value.
    with _open(store_path, {1: K1, 2: bytes([9]) * 32}) as s:
        with pytest.raises(hardstore.KeyUnavailable) as info:
            s.sealing.open(blob)
        assert "not the key" in info.value.message
        assert [k.available for k in s.sealing.keys()] == [True, False]
        with pytest.raises(hardstore.KeyUnavailable):
            s.sealing.seal("user:new", b"x")  # the primary is not available
    # No keys at all.
    with hardstore.open(store_path) as s:
        with pytest.raises(hardstore.KeyUnavailable):
            s.sealing.open(blob)
        with pytest.raises(hardstore.KeyUnavailable):
            s.sealing.seal("user:7", b"x")
    # The right keys again: nothing was lost.
    with _open(store_path) as s:
        assert s.sealing.open(blob) == b"kept"
    with hardstore.open(store_path.with_name("empty.hardstore")) as s:
        assert s.sealing.keys() == []
        with pytest.raises(hardstore.KeyUnavailable):
            s.sealing.seal("u", b"x")  # no key added
        with pytest.raises(hardstore.KeyUnavailable):
            s.sealing.rewrap()


def test_cut_edited_and_foreign_blobs_raise_sealed_invalid(tmp_path: Path) -> None:
    with _open(tmp_path / "a.hardstore") as s, _open(tmp_path / "b.hardstore") as t:
        s.sealing.add_key(1)
        t.sealing.add_key(1)
        blob = s.sealing.seal("user:7", b"kept")
        n = len(blob)
        edited = bytearray(blob)
        edited[n - 5] ^= 1
        subject_edited = bytearray(blob)
        subject_edited[3] ^= 0x20  # "user:7" -> "User:7"
        later_generation = bytearray(blob)
        later_generation[3 + len("user:7")] = 2
        for bad in (blob[: n - 1], blob[:3], bytes(edited), b"plain", b"", bytes(subject_edited),
                    bytes(later_generation), blob + b"\0"):
            with pytest.raises(hardstore.SealedInvalid) as info:
                s.sealing.open(bad)
            assert info.value.code == hardstore.Result.SEALED_INVALID == 26
            assert info.value.function == "hardstore_sealing_open" and info.value.message
        # A blob of another store, even with the same keys: refused there.
        with pytest.raises(hardstore.SealedInvalid):
            t.sealing.open(blob)
        t.sealing.seal("user:7", b"its own")
        with pytest.raises(hardstore.SealedInvalid):
            t.sealing.open(blob)
        assert s.sealing.open(blob) == b"kept"


def test_keys_from_a_callable(store_path: Path) -> None:
    calls: List[int] = []

    def source(key_id: int) -> Optional[bytes]:
        calls.append(key_id)
        return bytes([0x55]) * 32 if key_id == 5 else None

    opts = Options()
    assert opts.sealing_key_source(source) is opts  # chains
    with hardstore.open(store_path, opts) as s:
        s.sealing.add_key(5)
        blob = s.sealing.seal("u", b"by callback")
        assert s.sealing.open(blob) == b"by callback"
        assert calls and set(calls) == {5}
        with pytest.raises(hardstore.KeyUnavailable):
            s.sealing.add_key(6)  # the source has no key 6
        assert 6 in calls
    # The same bytes given as a mapping open what the callable sealed.
    with _open(store_path, {5: bytes([0x55]) * 32}) as s:
        assert s.sealing.open(blob) == b"by callback"
    # As a keyword option too.
    with hardstore.open(store_path, sealing_key_callback=source) as s:
        assert s.sealing.open(blob) == b"by callback"


def test_a_callable_that_raises_or_answers_badly_never_reaches_the_library(
        store_path: Path) -> None:
    answers: Dict[int, object] = {
        1: bytes([1]) * 32,
        2: bytes([2]) * 16,           # too short
        3: "x" * 32,                  # text, not bytes
        4: 32,                        # an int (bytes(32) would be 32 zero bytes)
        5: bytearray([5]) * 32,       # fine: any bytes-like
        6: memoryview(bytes([6]) * 32),
    }

    def source(key_id: int) -> object:
        if key_id == 7:
            raise RuntimeError("secrets manager down")
        if key_id == 8:
            raise KeyboardInterrupt  # even a BaseException stays on this side
        return answers.get(key_id)

    with hardstore.open(store_path, Options().sealing_key_source(source)) as s:  # type: ignore[arg-type]
        s.sealing.add_key(1)
        for bad in (2, 3, 4, 7, 8, 9):
            with pytest.raises(hardstore.KeyUnavailable) as info:
                s.sealing.add_key(bad)
            assert str(bad) in info.value.message
        s.sealing.add_key(5)
        s.sealing.add_key(6)
        assert [k.id for k in s.sealing.keys()] == [1, 5, 6]
        assert s.sealing.open(s.sealing.seal("u", b"ok")) == b"ok"


def test_the_callable_is_kept_alive_by_the_store(store_path: Path) -> None:
    def open_with_a_temporary_closure() -> hardstore.Store:
        secret = bytes([7]) * 32
        # Nothing but the store refers to the options, the closure or its C thunk.
        return hardstore.open(store_path, sealing_key_callback=lambda i: secret if i == 1 else None)

    s = open_with_a_temporary_closure()
    try:
        gc.collect()
        s.sealing.add_key(1)  # calls the source: its thunk must still be there
        assert s.sealing.open(s.sealing.seal("u", b"v")) == b"v"
    finally:
        s.close()
    # The options keep theirs too, made once per callable.
    opts = Options().sealing_key_source(lambda i: bytes([7]) * 32)
    with hardstore.open(store_path, opts) as s1:
        first = opts._key_callback()
        s1.close()
        with hardstore.open(store_path, opts) as s2:
            assert opts._key_callback() is first
            assert s2.sealing.keys()[0].available


def test_the_janitor_thread_calls_the_callable(store_path: Path) -> None:
    threads: List[int] = []
    keys = {1: K1, 2: K2}

    def source(key_id: int) -> Optional[bytes]:
        threads.append(threading.get_ident())
        return keys.get(key_id)

    opts = Options().sealing_key_source(source).janitor(5000)
    with hardstore.open(store_path, opts) as s:
        s.sealing.add_key(1)
        blobs = [s.sealing.seal(f"u{i}", b"v") for i in range(3)]
        s.sealing.add_key(2)
        s.sealing.set_primary(2)
        # Disable and enable key 1 so that its bytes are asked for again, by the janitor's
        # re-wrap, from the store's own thread.
        s.sealing.disable_key(1)
        s.sealing.enable_key(1)
        _wait_for(lambda: s.sealing.keys()[0].subjects == 0)
        assert any(t != threading.get_ident() for t in threads)
        assert [s.sealing.open(b) for b in blobs] == [b"v"] * 3


def test_options_for_the_keys(store_path: Path) -> None:
    opts = Options().sealing_keys({1: K1})
    assert "sealing_keyset" not in repr(opts) and "\\x01" not in repr(opts)  # no secrets
    assert opts.sealing_keyset == {1: K1} and opts.sealing_key_callback is None
    opts.sealing_key_source(lambda i: None)
    assert opts.sealing_keyset is None  # one replaces the other
    opts.sealing_keys({1: K1})
    assert opts.sealing_key_callback is None
    assert Options.from_kwargs(sealing_keyset={1: K1}).sealing_keyset == {1: K1}

    with pytest.raises(hardstore.InvalidArgument) as info:
        hardstore.open(store_path, sealing_keyset={1: bytes(16)})
    assert info.value.function == "hardstore_options_set_sealing_key"
    assert "32" in info.value.message
    with pytest.raises(hardstore.InvalidArgument) as info:
        hardstore.open(store_path, sealing_keyset={1: K1}, sealing_key_callback=lambda i: None)
    assert info.value.function is None and "not both" in info.value.message
    with pytest.raises(hardstore.InvalidArgument):
        Options().sealing_keys({-1: K1})
    with pytest.raises(hardstore.InvalidArgument):
        Options().sealing_keys({2**32: K1})  # would wrap in a uint32_t
    with pytest.raises(TypeError):
        Options().sealing_keys({1: "x" * 32})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        Options().sealing_keys({"1": K1})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        Options().sealing_keys([(1, K1)])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Options().sealing_key_source(K1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        hardstore.open(store_path, sealing_key_callback="not callable")
    assert not store_path.exists()  # refused before anything was created


def test_bad_input_is_refused_and_changes_nothing(store_path: Path) -> None:
    with _open(store_path) as s:
        sealing = s.sealing
        sealing.add_key(1)
        blob = sealing.seal("u", b"v")
        size = s.audit.size()
        keys = sealing.keys()

        with pytest.raises(hardstore.InvalidArgument) as info:
            sealing.seal("", b"x")
        assert type(info.value) is hardstore.InvalidArgument
        assert info.value.function == "hardstore_sealing_seal"
        with pytest.raises(hardstore.TooLong):
            sealing.seal("u" * 129, b"x")
        with pytest.raises(hardstore.TooLong) as info:
            sealing.seal("u", bytes((16 << 20) + 1))
        assert "plaintext" in info.value.message
        with pytest.raises(hardstore.InvalidUtf8):
            sealing.seal(b"\xff", b"x")
        with pytest.raises(TypeError):
            sealing.seal("u", 5)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            sealing.open("hs-sealed:abc")  # type: ignore[arg-type]
        with pytest.raises(hardstore.InvalidArgument):
            sealing.shred("")
        with pytest.raises(hardstore.TooLong):
            sealing.shred("u" * 129)
        with pytest.raises(hardstore.InvalidArgument) as info:
            sealing.add_key(1)  # in the keyset already
        assert "already" in info.value.message
        with pytest.raises(hardstore.NotFound):
            sealing.disable_key(7)
        with pytest.raises(hardstore.NotFound):
            sealing.enable_key(7)
        with pytest.raises(hardstore.NotFound):
            sealing.destroy_key(7)
        with pytest.raises(hardstore.KeyUnavailable):
            sealing.set_primary(7)
        with pytest.raises(hardstore.InvalidArgument) as info:
            sealing.destroy_key(1, confirm=10)  # the primary
        assert "primary" in info.value.message
        for bad_id in (-1, 2**32):
            with pytest.raises(hardstore.InvalidArgument) as info:
                sealing.add_key(bad_id)
            assert info.value.function is None
        with pytest.raises(TypeError):
            sealing.add_key("1")  # type: ignore[arg-type]
        with pytest.raises(hardstore.InvalidArgument):
            sealing.destroy_key(1, confirm=-1)
        with pytest.raises(hardstore.InvalidArgument):
            sealing.rewrap(-1)

        with s.transaction() as tx:
            with pytest.raises(hardstore.InvalidArgument) as info:
                tx.kv_put_sealed("users", b"1", "", b"x")
            assert info.value.function == "hardstore_tx_kv_put_sealed"
            with pytest.raises(hardstore.TooLong):
                tx.kv_put_sealed("users", b"1", "u" * 129, b"x")
            with pytest.raises(hardstore.TooLong):
                tx.kv_put_sealed("users", b"1", "u", bytes((1 << 20) + 1))
            with pytest.raises(hardstore.InvalidArgument):
                tx.kv_put_sealed("", b"1", "u", b"x")
            with pytest.raises(hardstore.InvalidUtf8):
                tx.kv_put_sealed("users", b"1", b"\xfe", b"x")
        # A plaintext that fits the value limit but not once sealed is refused at once
        # (not at the commit), writing nothing.
        with s.transaction() as tx:
            with pytest.raises(hardstore.TooLong) as info:
                tx.kv_put_sealed("users", b"big", "u", bytes(1 << 20))
            assert info.value.function == "hardstore_tx_kv_put_sealed"
            assert "sealed" in info.value.message
        assert s.kv.get("users", b"big") is None

        assert s.audit.size() == size and sealing.keys() == keys
        assert sealing.open(blob) == b"v"
        assert sealing.open(sealing.seal("u" * 128, b"x")) == b"x"  # the limit itself

    # The C entry points refuse NULLs (the binding never passes them).
    from hardstore import _lib, _structs

    import ctypes

    opts = ctypes.POINTER(_structs.hardstore_options)()
    _lib.lib.hardstore_options_new(ctypes.byref(opts))
    try:
        with pytest.raises(hardstore.NullArgument):
            _lib.lib.hardstore_options_set_sealing_key_callback(
                opts, _structs.hardstore_key_callback(), None)
        with pytest.raises(hardstore.InvalidArgument):
            _lib.lib.hardstore_options_set_sealing_key(opts, 1, bytes(16), 16)
    finally:
        _lib.lib.hardstore_options_free(opts)
    with _open(store_path) as s:
        with pytest.raises(hardstore.NullArgument):
            _lib.lib.hardstore_sealing_seal(s._handle, b"u", 1, b"x", 1, None)
        assert _lib.lib.hardstore_sealing_key_list_len(None) == 0
        _lib.lib.hardstore_sealing_key_list_free(None)
        keys_ptr = ctypes.POINTER(_structs.hardstore_sealing_keys)()
        _lib.lib.hardstore_sealing_key_list(s._handle, ctypes.byref(keys_ptr))
        try:
            k = _structs.hardstore_sealing_key()
            with pytest.raises(hardstore.InvalidArgument):
                _lib.lib.hardstore_sealing_key_list_get(keys_ptr, 2, ctypes.byref(k))
        finally:
            _lib.lib.hardstore_sealing_key_list_free(keys_ptr)


def test_a_closed_store_raises_store_closed(store_path: Path) -> None:
    s = _open(store_path)
    sealing = s.sealing
    sealing.add_key(1)
    blob = sealing.seal("u", b"v")
    s.close()
    with pytest.raises(hardstore.StoreClosed) as info:
        sealing.open(blob)
    assert info.value.function == "Sealing.open"
    with pytest.raises(hardstore.StoreClosed):
        sealing.seal("u", b"v")
    with pytest.raises(hardstore.StoreClosed):
        sealing.keys()


def test_errors_map_to_their_classes() -> None:
    from hardstore.errors import error_class

    assert error_class(24) is hardstore.Shredded
    assert error_class(25) is hardstore.KeyUnavailable
    assert error_class(26) is hardstore.SealedInvalid
    for code in (24, 25, 26):
        assert hardstore.result_name(code) == "HARDSTORE_" + hardstore.Result(code).name
    import hardstore.errors as errors

    for name in ("ConfirmationRequired", "Shredded", "KeyUnavailable", "SealedInvalid"):
        assert name in errors.__all__ and name in hardstore.__all__
