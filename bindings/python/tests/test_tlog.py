"""An auditor's view, with independent implementations only: leaves recomputed from the
JSON Lines export with this file's own encoder (the spec in docs/audit-entry-encoding.md)
and hashlib / the ``blake3`` package, RFC 6962 roots and consistency proofs checked with
hashlib, the log's Ed25519 checkpoint signature checked with ``cryptography``, a witness
cosignature made with ``cryptography`` and accepted by the library, and a proof bundle
checked by hand."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import List, Tuple

import blake3
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import hardstore

EM = "\u2014"


# --- The spec's encoding, written from docs/audit-entry-encoding.md -------------------


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def text(s: str) -> bytes:
    b = s.encode("utf-8")
    return varint(len(b)) + b


def leaf_bytes(e: dict) -> bytes:
    out = bytearray(b"\x01") + varint(e["seq"]) + varint(e["time"])
    for f in ("tenant", "actor", "action", "resource", "outcome", "ip", "user_agent"):
        out += text(e[f])
    out += varint(len(e["details"]))
    for k, v in e["details"]:
        out += text(k) + text(v)
    return bytes(out)


# --- RFC 6962 / 9162 with hashlib --------------------------------------------------------


def sha(*parts: bytes) -> bytes:
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


def mth(leaves: List[bytes]) -> bytes:
    if not leaves:
        return sha()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return sha(b"\x01", mth(leaves[:k]), mth(leaves[k:]))


def verify_consistency(m: int, n: int, old: bytes, new: bytes, proof: List[bytes]) -> bool:
    """RFC 9162 2.1.4.2, as written there."""
    if m == n:
        return not proof and old == new
    if m == 0 or m > n or not proof:
        return False
    if m & (m - 1) == 0:
        proof = [old] + proof
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = sha(b"\x01", c, fr), sha(b"\x01", c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = sha(b"\x01", sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old and sr == new


def verify_inclusion(index: int, size: int, leaf: bytes, proof: List[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = sha(b"\x01", p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = sha(b"\x01", r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


# --- signed-note with cryptography -------------------------------------------------------


def parse_vkey(vkey: str) -> Tuple[str, bytes, int, bytes]:
    name, key_id, data = vkey.split("+", 2)
    raw = base64.b64decode(data)
    return name, bytes.fromhex(key_id), raw[0], raw[1:]


def split_note(note: str) -> Tuple[str, List[Tuple[str, bytes]]]:
    i = note.rindex("\n\n")
    body, sigs = note[: i + 1], []
    for line in note[i + 2 :].splitlines():
        assert line.startswith(EM + " ")
        name, b64 = line[2:].split(" ")
        sigs.append((name, base64.b64decode(b64)))
    return body, sigs


def fill(s: hardstore.Store, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        s.audit.append("acme", "invoice.paid", actor=f"user:{i}", resource=f"invoice/{i}",
                       ip="203.0.113.7" if i % 2 else "", outcome="success",
                       details={"amount": f"{i}.00", "note": "caf\u00e9 \u2603" * (i % 3)})


def exported(s: hardstore.Store, tmp_path: Path) -> List[dict]:
    path = tmp_path / "export.jsonl"
    s.audit.export_jsonl(path, "acme")
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_leaves_recompute_from_the_export_in_a_sha256_store(tmp_path: Path) -> None:
    with hardstore.open(tmp_path / "s.hs", audit_hash=hardstore.AUDIT_HASH_SHA256) as s:
        assert s.audit.hash == hardstore.AUDIT_HASH_SHA256
        fill(s, 37)
        lines = exported(s, tmp_path)
        assert len(lines) == 37
        leaves = []
        for e in lines:
            b = leaf_bytes(e)
            entry = s.audit.get(e["seq"])
            assert b == entry.leaf_bytes == s.audit.leaf_bytes(e["seq"])
            assert sha(b"\x00", b) == entry.leaf_hash
            leaves.append(sha(b"\x00", b))
        for n in (1, 2, 5, 16, 37):
            assert mth(leaves[:n]) == s.audit.root(n)
        # The store's proofs carry its hash.
        s.audit.inclusion_proof(3).verify(leaves[3], s.audit.root())
        s.audit.consistency_proof(5).verify(mth(leaves[:5]), s.audit.root())
    # A BLAKE3 store signs no C2SP checkpoint (their roots are RFC 6962 roots).
    with hardstore.open(tmp_path / "b3.hs") as b3:
        b3.audit.append("acme", "x")
        with pytest.raises(hardstore.InvalidArgument):
            b3.audit.sign_checkpoint(hardstore.NoteSigner.generate("example.com/b3"))


def test_leaves_recompute_from_the_export_in_a_blake3_store(tmp_path: Path) -> None:
    with hardstore.open(tmp_path / "s.hs") as s:
        assert s.audit.hash == hardstore.AUDIT_HASH_BLAKE3
        fill(s, 9)
        for e in exported(s, tmp_path):
            b = leaf_bytes(e)
            assert blake3.blake3(b"\x00" + b).digest() == s.audit.get(e["seq"]).leaf_hash


def test_the_checkpoint_signature_and_consistency_verify_independently(tmp_path: Path) -> None:
    log = hardstore.NoteSigner.generate("example.com/hardstore")
    name, key_id, kind, public = parse_vkey(log.vkey)
    assert kind == 0x01 and name == "example.com/hardstore"
    assert key_id == sha(name.encode(), b"\n\x01", public)[:4]
    pub = Ed25519PublicKey.from_public_bytes(public)
    with hardstore.open(tmp_path / "s.hs", audit_hash=hardstore.AUDIT_HASH_SHA256) as s:
        fill(s, 11)
        old_note = s.audit.sign_checkpoint(log)
        fill(s, 30, start=11)
        new_note = s.audit.sign_checkpoint(log)
        checked = []
        for note in (old_note, new_note):
            body, sigs = split_note(note)
            origin, size, root = body.splitlines()
            assert origin == name
            (sig_name, sig), = sigs
            assert sig_name == name and sig[:4] == key_id
            pub.verify(sig[4:], body.encode())  # raises if it does not verify
            with pytest.raises(InvalidSignature):
                pub.verify(sig[4:], body.replace(size, str(int(size) + 1)).encode())
            checked.append((int(size), base64.b64decode(root)))
        (m, old_root), (n, new_root) = checked
        assert (m, n) == (11, 41)
        proof = bytes(s.audit.consistency_proof(m, n))
        hashes = [proof[i : i + 32] for i in range(0, len(proof), 32)]
        assert verify_consistency(m, n, old_root, new_root, hashes)
        assert not verify_consistency(m, n, old_root, sha(b"other"), hashes)
        hardstore.verify_consistency(m, n, old_root, new_root, proof, hash=hardstore.AUDIT_HASH_SHA256)
        with pytest.raises(hardstore.ProofInvalid):
            hardstore.verify_consistency(m, n, old_root, new_root, proof)  # as BLAKE3


def _python_cosign(note: str, name: str, key: Ed25519PrivateKey, t: int) -> Tuple[str, str]:
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_id = sha(name.encode(), b"\n\x04", public)[:4]
    vkey = f"{name}+{key_id.hex()}+{base64.b64encode(bytes([4]) + public).decode()}"
    body, _ = split_note(note)
    msg = f"cosignature/v1\ntime {t}\n".encode() + body.encode()
    sig = key_id + t.to_bytes(8, "big") + key.sign(msg)
    return note + f"{EM} {name} {base64.b64encode(sig).decode()}\n", vkey


def test_a_witness_cosignature_made_in_python_is_accepted(tmp_path: Path) -> None:
    log = hardstore.NoteSigner.generate("example.com/hardstore")
    with hardstore.open(tmp_path / "s.hs", audit_hash=hardstore.AUDIT_HASH_SHA256) as s:
        fill(s, 5)
        note = s.audit.sign_checkpoint(log)
        cosigned, wvkey = _python_cosign(note, "witness.example/py", Ed25519PrivateKey.generate(),
                                         1_767_225_600)
        v = hardstore.verify_checkpoint(cosigned, log.vkey, [wvkey], quorum=1)
        assert (v.size, v.root, v.cosigned) == (5, s.audit.root(), 1)
        with pytest.raises(hardstore.SignatureInvalid):
            hardstore.verify_checkpoint(note, log.vkey, [wvkey], quorum=1)
        with pytest.raises(hardstore.InvalidArgument):  # one witness counts once
            hardstore.verify_checkpoint(cosigned, log.vkey, [wvkey, wvkey], quorum=2)
        # The same cosignature over another time does not verify.
        forged = cosigned.replace(cosigned.splitlines()[-1], cosigned.splitlines()[-1][:-8] + "AAAAAAA=")
        with pytest.raises((hardstore.SignatureInvalid, hardstore.CheckpointInvalid)):
            hardstore.verify_checkpoint(forged, log.vkey, [wvkey], quorum=1)
        # And the library's own cosignature verifies in Python.
        w = hardstore.NoteSigner.generate("witness.example/lib", witness=True)
        both = hardstore.cosign(cosigned, w, 1_767_225_700)
        _, sigs = split_note(both)
        wname, wid, kind, wpub = parse_vkey(w.vkey)
        assert kind == 0x04
        (_, sig), = [x for x in sigs if x[0] == wname]
        assert sig[:4] == wid and int.from_bytes(sig[4:12], "big") == 1_767_225_700
        body, _ = split_note(note)
        Ed25519PublicKey.from_public_bytes(wpub).verify(
            sig[12:], b"cosignature/v1\ntime 1767225700\n" + body.encode())
        assert hardstore.verify_checkpoint(both, log.vkey, [wvkey, w.vkey], quorum=2).cosigned == 2


def test_a_proof_bundle_checks_by_hand(tmp_path: Path) -> None:
    log = hardstore.NoteSigner.generate("example.com/hardstore")
    with hardstore.open(tmp_path / "s.hs", audit_hash=hardstore.AUDIT_HASH_SHA256) as s:
        fill(s, 23)
        note = s.audit.sign_checkpoint(log)
        bundle = s.audit.proof_bundle(17, note)
        head, checkpoint = bundle.split("\n\n", 1)
        lines = head.splitlines()
        assert lines[0] == "c2sp.org/tlog-proof@v1"
        extra = base64.b64decode(lines[1].removeprefix("extra "))
        assert lines[2] == "index 17"
        proof = [base64.b64decode(x) for x in lines[3:]]
        assert checkpoint == note
        _, size, root = split_note(note)[0].splitlines()
        assert verify_inclusion(17, int(size), sha(b"\x00", extra), proof, base64.b64decode(root))
        assert extra == s.audit.leaf_bytes(17)
        got = hardstore.verify_bundle(bundle, log.vkey, hash=hardstore.AUDIT_HASH_SHA256)
        assert (got.index, got.leaf_bytes) == (17, extra)
        with pytest.raises(hardstore.ProofInvalid):
            hardstore.verify_bundle(bundle.replace("index 17", "index 18"), log.vkey,
                                    hash=hardstore.AUDIT_HASH_SHA256)
