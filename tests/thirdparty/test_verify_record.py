#!/usr/bin/python3
"""Tests of the independent verifier (verify_record.py).

    /usr/bin/python3 tests/thirdparty/test_verify_record.py [EXPORT.jsonl ...]

Also reads the environment variable HOTLINE_EXPORT (one path, or several separated by ':').
Checks: the test vectors (docs/record-format.md §10); the strict CBOR decoder (§1), rule by
rule; item-level rejections (§2-§5); targeted rule violations on synthetic exports built with
PyNaCl (synth_export.py); and the tamper suite (byte flips in every signed item, deleted,
swapped and duplicated entry lines) on the synthetic export and on every export given.
Ends with "N passed, M failed"; exits non-zero if M > 0.
"""

import base64
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import verify_record as vr  # noqa: E402
import synth_export as sx   # noqa: E402

VECTORS = os.path.join(HERE, "..", "..", "docs", "test-vectors.json")


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def expect(self, condition, name):
        if condition:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL: %s" % name)
        return condition


R = Results()


# --- §10 test vectors --------------------------------------------------------------------------

def test_vectors():
    failures, passed = vr.verify_vectors_file(VECTORS)
    for failure in failures:
        R.expect(False, "vectors: %s" % failure)
    R.expect(passed > 0 and not failures, "vectors: all checks hold (%d)" % passed)
    cli = subprocess.run([sys.executable, os.path.join(HERE, "verify_record.py"), "vectors",
                          VECTORS], capture_output=True, text=True)
    R.expect(cli.returncode == 0, "vectors CLI exits 0: %s" % cli.stdout.strip())
    # Each invalid vector is rejected for its stated reason (§10 items 6-8).
    with open(VECTORS, encoding="utf-8") as handle:
        doc = json.load(handle)
    for name, category in vr.INVALID_VECTORS.items():
        try:
            vr.parse_signed_item("entry", bytes.fromhex(doc[name]["signed"]))
            R.expect(False, "%s accepted" % name)
        except vr.ItemError as error:
            R.expect(error.category == category, "%s rejected as %s, expected %s"
                     % (name, error.category, category))
    # §10 item 6 says the non-canonical vector is validly signed over its bytes: so the
    # rejection really comes from the encoding rule, not from the signature.
    signed = bytes.fromhex(doc["invalid_non_canonical"]["signed"])
    payload, signature = signed[3:-66], signed[-64:]
    alpha = bytes.fromhex(doc["keys"]["alpha"]["fingerprint"][4:])
    R.expect(signed[:3] == b"\x82\x58\xc3" and signed[-66:-64] == b"\x58\x40",
             "invalid_non_canonical: outer layout")
    R.expect(vr.signature_valid(vr.CONTEXTS["entry"], payload, signature, alpha),
             "invalid_non_canonical: signature valid over the non-canonical payload")
    trailing = bytes.fromhex(doc["invalid_trailing_byte"]["signed"])
    R.expect(trailing[:-1].hex() == doc["entry_first"]["signed"] and trailing[-1] == 0,
             "invalid_trailing_byte: entry_first followed by 0x00")


# --- §1 CBOR decoder -----------------------------------------------------------------------------

ACCEPT = [  # (hex, expected Python value or a predicate)
    ("00", 0), ("17", 23), ("1818", 24), ("18ff", 255), ("190100", 256), ("19ffff", 65535),
    ("1a00010000", 65536), ("1b0000000100000000", 2 ** 32), ("1bffffffffffffffff", 2 ** 64 - 1),
    ("20", -1), ("37", -24), ("3818", -25), ("3b7fffffffffffffff", -2 ** 63),
    ("40", b""), ("4401020304", b"\x01\x02\x03\x04"), ("5818" + "00" * 24, bytes(24)),
    ("60", ""), ("6161", "a"), ("63e282ac", "\u20ac"), ("64f09f9880", "\U0001F600"),
    ("80", ()), ("83010203", (1, 2, 3)), ("f4", False), ("f5", True), ("f6", None),
    ("a0", lambda v: isinstance(v, vr.CborMap) and v.pairs == ()),
    ("a201020304", lambda v: v.pairs == ((1, 2), (3, 4))),
    ("a2016161616101", lambda v: v.pairs == ((1, "a"), ("a", 1))),   # int keys before text
    # Bytewise order of the encoded keys (RFC 8949 §4.2.1), not length-first (RFC 7049):
    # 100 (0x18 0x64) sorts before -1 (0x20) although its encoding is longer.
    ("a2186400 2000", lambda v: v.pairs == ((100, 0), (-1, 0))),
    ("a2f400f500", lambda v: v.pairs == ((False, 0), (True, 0))),   # 1 and true both usable
    ("a201f5f500", lambda v: len(v.pairs) == 2),
    ("81" * 15 + "80", lambda v: True),                               # 16 nested levels
]

REJECT = [  # (hex, category)
    ("3bffffffffffffffff", "unsupported"),  # -2^64: below the -2^63 allowed by §1
    ("", "truncated"), ("18", "truncated"), ("6261", "truncated"), ("8201", "truncated"),
    ("a101", "truncated"), ("5affffffff", "truncated"), ("9bffffffffffffffff", "truncated"),
    ("1817", "non-canonical"), ("190017", "non-canonical"), ("1900ff", "non-canonical"),
    ("1a0000ffff", "non-canonical"), ("1b00000000ffffffff", "non-canonical"),
    ("3817", "non-canonical"), ("5801" + "00", "non-canonical"), ("780161", "non-canonical"),
    ("980100", "non-canonical"), ("b8010000", "non-canonical"),
    ("a202000100", "non-canonical"),               # unsorted keys
    ("a22000186400", "non-canonical"),              # -1 before 100: length-first order
    ("a2616200616100", "non-canonical"),
    ("a201000100", "duplicate-key"), ("a2616100616100", "duplicate-key"),
    ("5f4100ff", "indefinite-length"), ("7f6161ff", "indefinite-length"),
    ("9fff", "indefinite-length"), ("bfff", "indefinite-length"), ("ff", "indefinite-length"),
    ("1f", "indefinite-length"),
    ("c000", "unsupported"), ("d82000", "unsupported"), ("c24100", "unsupported"),
    ("f90000", "unsupported"), ("fa00000000", "unsupported"), ("fb0000000000000000", "unsupported"),
    ("f7", "unsupported"), ("e0", "unsupported"), ("f3", "unsupported"), ("f800", "unsupported"),
    ("f820", "unsupported"), ("1c", "unsupported"), ("1d", "unsupported"), ("1e", "unsupported"),
    ("62c328", "invalid-utf8"), ("62c0af", "invalid-utf8"), ("63eda080", "invalid-utf8"),
    ("61ff", "invalid-utf8"), ("64f4908080", "invalid-utf8"),
    ("0000", "trailing"), ("8000", "trailing"), ("f6f6", "trailing"),
    ("81" * 16 + "80", "too-deep"),                # 17 nested levels
    ("a101" + "81" * 15 + "80", "too-deep"),       # the map counts as a level
]


def test_cbor():
    for hex_text, expected in ACCEPT:
        data = bytes.fromhex(hex_text.replace(" ", ""))
        try:
            value = vr.cbor_decode(data)
        except vr.CborError as error:
            R.expect(False, "cbor accept %s: rejected %s" % (hex_text, error))
            continue
        ok = expected(value) if callable(expected) else (
            type(value) is type(expected) and value == expected)
        R.expect(ok, "cbor accept %s: decoded %r" % (hex_text, value))
    for hex_text, category in REJECT:
        data = bytes.fromhex(hex_text.replace(" ", ""))
        if len(data) * 2 != len(hex_text.replace(" ", "")):
            R.expect(False, "bad test hex %s" % hex_text)
            continue
        try:
            value = vr.cbor_decode(data)
            R.expect(False, "cbor reject %s (%s): accepted as %r" % (hex_text, category, value))
        except vr.CborError as error:
            R.expect(error.category == category, "cbor reject %s: category %s, expected %s"
                     % (hex_text, error.category, category))
    test_cbor_roundtrip()


def test_cbor_roundtrip():
    """Encodings made by synth_export's encoder decode back; optional cross-check with cbor2
    (which only reads here: it is lenient, so never used in the verifier)."""
    values = [0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 64 - 1, -1, -24,
              -25, -2 ** 63, b"", b"x" * 300, "", "é" * 40, [], [1, [2, [3]]],
              {1: "a", "b": 2, -1: None, b"k": True, 100: False}]
    try:
        import cbor2
    except ImportError:
        cbor2 = None
    for value in values:
        data = sx.cbor_encode(value)
        try:
            decoded = vr.cbor_decode(data)
            R.expect(True, "roundtrip")
        except vr.CborError as error:
            R.expect(False, "roundtrip of %r rejected: %s" % (value, error))
            continue
        if cbor2 is not None:
            R.expect(cbor2.loads(data) == (value if not isinstance(value, list)
                                           else cbor2.loads(data)),
                     "cbor2 reads %r the same" % (value,))


# --- §2-§5 signed items --------------------------------------------------------------------------

def _entry_map(changes=None):
    f = {1: 1, 2: bytes(16), 3: sx.ALPHA.public, 4: 1, 5: bytes(32), 6: 5, 7: 0, 8: bytes(32),
         9: "message", 10: {1: "hi"}}
    f.update(changes or {})
    return f


def _expect_item(name, item_type, signed, category):
    try:
        vr.parse_signed_item(item_type, signed)
        R.expect(category is None, "item %s accepted, expected %s" % (name, category))
    except vr.ItemError as error:
        R.expect(error.category == category, "item %s: rejected as %s (%s), expected %s"
                 % (name, error.category, error.detail, category))


def test_items():
    alpha = sx.ALPHA
    _expect_item("good entry", "entry", sx.sign_item(alpha, "entry", _entry_map()), None)
    _expect_item("body any CBOR", "entry", sx.sign_item(
        alpha, "entry", _entry_map({10: [None, -3, b"", {"a": [True]}]})), None)
    for name, changes in [("version 2", {1: 2}), ("short line", {2: bytes(15)}),
                          ("long author", {3: bytes(33)}), ("seq 0", {4: 0}),
                          ("negative time", {6: -1}), ("text seq", {4: "1"}),
                          ("bool seq", {4: True}), ("kind uppercase", {9: "Message"}),
                          ("kind empty", {9: ""}), ("kind 65", {9: "a" * 65}),
                          ("kind bytes", {9: b"message"}), ("extra key 11", {11: 0}),
                          ("text key", {"x": 0})]:
        _expect_item(name, "entry", sx.sign_item(alpha, "entry", _entry_map(changes)),
                     "malformed")
    missing = _entry_map()
    del missing[7]
    _expect_item("missing key 7", "entry", sx.sign_item(alpha, "entry", missing), "malformed")
    payload = sx.cbor_encode(_entry_map())
    signature = alpha.signing_key.sign(b"hotline/v1/entry\x00" + payload).signature
    _expect_item("array of 3", "entry", sx.cbor_encode([payload, signature, b""]), "shape")
    _expect_item("short signature", "entry", sx.cbor_encode([payload, signature[:63]]), "shape")
    _expect_item("map not array", "entry", sx.cbor_encode({1: payload}), "shape")
    _expect_item("text payload", "entry", sx.cbor_encode([payload.hex(), signature]), "shape")
    _expect_item("payload with trailing byte", "entry",
                 sx.cbor_encode([payload + b"\x00", signature]), "trailing")
    # Wrong context: an entry signed as a receipt, or the separator missing.
    wrong = alpha.signing_key.sign(b"hotline/v1/receipt\x00" + payload).signature
    _expect_item("wrong context", "entry", sx.cbor_encode([payload, wrong]), "signature")
    nosep = alpha.signing_key.sign(b"hotline/v1/entry" + payload).signature
    _expect_item("no 0x00 separator", "entry", sx.cbor_encode([payload, nosep]), "signature")
    # Signed by someone else than the author.
    other = sx.BRAVO.signing_key.sign(b"hotline/v1/entry\x00" + payload).signature
    _expect_item("signed by another key", "entry", sx.cbor_encode([payload, other]),
                 "signature")
    # Non-canonical inside the payload, validly signed.
    bad_payload = payload.replace(b"\x06\x05", b"\x06\x18\x05", 1)
    bad_sig = alpha.signing_key.sign(b"hotline/v1/entry\x00" + bad_payload).signature
    _expect_item("time 0x18 0x05", "entry", sx.cbor_encode([bad_payload, bad_sig]),
                 "non-canonical")
    # §2: at most 262,144 bytes.
    big = sx.sign_item(alpha, "entry", _entry_map({10: {1: "x" * 262000}}))
    _expect_item("near the limit", "entry", big, None if len(big) <= 262144 else "too-large")
    big = sx.sign_item(alpha, "entry", _entry_map({10: {1: "x" * 262200}}))
    _expect_item("over the limit", "entry", big, "too-large")
    receipt = {1: 1, 2: bytes(16), 3: alpha.public, 4: sx.BRAVO.public, 5: 0, 6: bytes(32), 7: 1}
    _expect_item("good receipt", "receipt", sx.sign_item(alpha, "receipt", receipt), None)
    _expect_item("receipt read as entry", "entry", sx.sign_item(alpha, "receipt", receipt),
                 "malformed")
    checkpoint = {1: 1, 2: bytes(16), 3: alpha.public, 4: 0, 5: bytes(32), 6: 0, 7: bytes(32),
                  8: 1}
    _expect_item("good checkpoint", "checkpoint",
                 sx.sign_item(alpha, "checkpoint", checkpoint), None)
    _expect_item("checkpoint signed as receipt", "checkpoint", sx.cbor_encode(
        [sx.cbor_encode(checkpoint), alpha.signing_key.sign(
            b"hotline/v1/receipt\x00" + sx.cbor_encode(checkpoint)).signature]), "signature")


# --- exports: targeted violations --------------------------------------------------------------

def verify(lines):
    return vr.verify_export_lines(lines)


def expect_bad(name, lines, line_no, reason_start):
    ok, bad_line, reason = verify(lines)
    R.expect(not ok and bad_line == line_no and reason.startswith(reason_start),
             "%s: expected line %s '%s...', got ok=%s line %s '%s'"
             % (name, line_no, reason_start, ok, bad_line, reason))


def find(lines, item_type, author=None, seq=None):
    """1-based number of the first line of that type (and author, seq)."""
    for n, text in enumerate(lines, 1):
        obj = json.loads(text)
        if obj["type"] == item_type and (author is None or obj["author"] == author) and \
                (seq is None or obj["seq"] == seq):
            return n
    raise LookupError((item_type, author, seq))


def edit_json(text, **changes):
    obj = json.loads(text)
    obj.update(changes)
    return sx.dumps(obj)


def sim_lines(sim, **kw):
    return [sx.dumps(o) for o in sim.export_objects(**kw)]


def test_synthetic_sound():
    lines = sx.build_export()
    ok, bad_line, reason = verify(lines)
    R.expect(ok, "synthetic export is sound: line %s %s" % (bad_line, reason))
    R.expect(ok and "1 unconfirmed" in reason, "synthetic export: one unconfirmed head: "
             + reason)
    return lines


def test_json_side(lines):
    a = sx.ALPHA.fingerprint
    n = find(lines, "entry", a, 3)
    for field, value in (("seq", 4), ("author", sx.BRAVO.fingerprint), ("line", "00" * 16),
                         ("hash", "00" * 32), ("time", 1), ("kind", "note"),
                         ("body", {"1": "forged"}), ("prev", "11" * 32)):
        changed = list(lines)
        changed[n - 1] = edit_json(lines[n - 1], **{field: value})
        expect_bad("json %s changed" % field, changed, n, "entry json:")
    changed = list(lines)
    del_seq = json.loads(lines[n - 1])
    del del_seq["seq"]
    changed[n - 1] = sx.dumps(del_seq)
    expect_bad("json seq missing", changed, n, "entry json:")
    changed = list(lines)
    changed[n - 1] = edit_json(lines[n - 1], seq=3.0)
    expect_bad("json seq as 3.0", changed, n, "entry json:")
    r = find(lines, "receipt")
    chain = json.loads(lines[r - 1])["chain"]
    not_chain = sx.BRAVO.fingerprint if chain == a else a
    for field, value in (("chain", not_chain), ("seq", 99), ("hash", "00" * 32)):
        changed = list(lines)
        changed[r - 1] = edit_json(lines[r - 1], **{field: value})
        expect_bad("receipt json %s" % field, changed, r, "receipt json:")
    c = find(lines, "checkpoint")
    for field, value in (("seq", 0), ("own_seq", 0), ("peer_hash", "00" * 32)):
        changed = list(lines)
        changed[c - 1] = edit_json(lines[c - 1], **{field: value})
        expect_bad("checkpoint json %s" % field, changed, c, "checkpoint json:")
    # base64: not padded / non-canonical padding bits / not base64.
    signed = json.loads(lines[n - 1])["signed"]
    cases = [("url-safe", signed.replace("+", "-").replace("/", "_")
              if ("+" in signed or "/" in signed) else "!" + signed[1:]),
             ("spaces", signed[:8] + " " + signed[8:]), ("number", 5),
             ("extra padding", signed + "====")]
    if signed.endswith("="):
        cases.append(("unpadded", signed.rstrip("=")))
    else:
        cases.append(("padding inside", signed[:-4] + "=" + signed[-3:]))
    for label, value in cases:
        changed = list(lines)
        changed[n - 1] = edit_json(lines[n - 1], signed=value)
        expect_bad("base64 %s" % label, changed, n, "entry json: 'signed'")
    raw = base64.b64decode(signed)
    if len(raw) % 3:  # set a padding bit that canonical base64 leaves zero
        text = base64.b64encode(raw).decode()
        index = len(text.rstrip("=")) - 1
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        odd = alphabet[alphabet.index(text[index]) | 1]
        changed = list(lines)
        changed[n - 1] = edit_json(lines[n - 1], signed=text[:index] + odd + text[index + 1:])
        expect_bad("base64 padding bits", changed, n, "entry json: 'signed'")
    # Lines that are not what §8 describes.
    expect_bad("not JSON", lines[:5] + ["{"] + lines[5:], 6, "json not valid JSON")
    expect_bad("empty line", lines[:5] + [""] + lines[5:], 6, "json not valid JSON")
    expect_bad("JSON array", lines[:5] + ["[]"] + lines[5:], 6, "json not a JSON object")
    expect_bad("unknown type", lines[:5] + ['{"type":"note"}'] + lines[5:], 6, "json unknown")
    expect_bad("duplicate JSON key", lines[:5] + [lines[5][:-1] + ',"seq":99}'] + lines[6:], 6,
               "json not valid JSON")
    expect_bad("item before header", lines[1:], 1, "entry no line header")
    # The header (§6, §8).
    header = json.loads(lines[0])
    for label, change in (("name", {"name": header["name"] + "x"}),
                          ("line", {"line": "00" * 16}),
                          ("one party", {"parties": header["parties"][:1]}),
                          ("same party twice", {"parties": [header["parties"][0]] * 2}),
                          ("empty name", {"name": ""}), ("long name", {"name": "x" * 129}),
                          ("uppercase", {"line": header["line"].upper()})):
        changed = [edit_json(lines[0], **change)] + lines[1:]
        expect_bad("header %s" % label, changed, 1, "line header:")
    swapped = [edit_json(lines[0], parties=header["parties"][::-1])] + lines[1:]
    R.expect(verify(swapped)[0], "header with parties in the other order is accepted "
             "(§8 does not fix their order)")
    second = find(lines[1:], "line") + 1
    expect_bad("duplicate header", lines[:second] + [lines[0]] + lines[second:], second + 1,
               "line header: line")


def test_rules():
    """One violation of each rule, validly signed, on a record otherwise sound."""
    A, B, C = sx.ALPHA, sx.BRAVO, sx.CHARLIE
    zeros = bytes(32)

    def base():
        return sx.main_line(12)

    def at(sim, party, seq, item_type="entry", **kw):
        lines = sim_lines(sim, **kw)
        return lines, find(lines, item_type, party.fingerprint, seq)

    # E5: time earlier than the previous entry's.
    sim = base()
    last_a = len(sim.chains[A.public])
    sim.add_entry(A, {1: "late"}, tweak=lambda f: f.update({6: f[6] - 10 ** 9}))
    lines, n = at(sim, A, last_a + 1)
    expect_bad("E5 time earlier", lines, n, "entry E5")

    sim = base()
    sim.add_entry(A, {1: "x"}, tweak=lambda f: f.update({7: 0, 8: zeros}))
    lines, n = at(sim, A, len(sim.chains[A.public]))
    expect_bad("E6 cross-seq decreases", lines, n, "entry E6 cross-seq decreases")

    sim = base()
    sim.add_entry(A, {1: "x"}, tweak=lambda f: f.update({8: b"\x01" * 32}))
    lines, n = at(sim, A, len(sim.chains[A.public]))
    expect_bad("E6 cross-hash wrong", lines, n, "entry E6 cross-hash")

    sim = base()
    sim.add_entry(A, {1: "x"}, tweak=lambda f: f.update({7: f[7] + 5}))
    lines, n = at(sim, A, len(sim.chains[A.public]))
    expect_bad("E6 cross-link beyond the record", lines, n, "entry E6 cross-link")

    sim = base()
    sim.add_entry(A, {1: "x"}, tweak=lambda f: f.update({7: 0, 8: b"\x01" * 32}))
    lines, n = at(sim, A, len(sim.chains[A.public]))
    expect_bad("E6 cross-hash not zeros", lines, n, "entry E6")

    sim = sx.LineSim("e4", A, B)
    sim.add_entry(A, {1: "x"}, tweak=lambda f: f.update({5: b"\x02" * 32}))
    sim.add_entry(A, {1: "y"})
    lines, n = at(sim, A, 1)
    expect_bad("E4 prev of seq 1", lines, n, "entry E4")

    sim = base()
    sim.add_entry(A, {1: "x"}, tweak=lambda f: f.update({5: b"\x02" * 32}))
    lines, n = at(sim, A, len(sim.chains[A.public]))
    expect_bad("E4 prev wrong", lines, n, "entry E4")

    sim = base()
    sim.add_entry(A, {1: "x"}, tweak=lambda f: f.update({4: f[4] + 1}))
    lines, n = at(sim, A, len(sim.chains[A.public]) + 1)
    expect_bad("E3 gap", lines, n, "entry E3")

    sim = sx.LineSim("e3", A, B)
    sim.add_entry(A, {1: "x"}, tweak=lambda f: f.update({4: 2}))
    lines, n = at(sim, A, 2)
    expect_bad("E3 chain starts at 2", lines, n, "entry E3 chain starts")

    # Equivocation: a second, different, validly signed entry for one (line, author, seq).
    sim = base()
    lines = sim_lines(sim)
    n = find(lines, "entry", A.fingerprint, 3)
    original = sim.chains[A.public][2]
    fields = dict(original.fields)
    fields[10] = {1: "the other story"}
    twin = sx.Signed("entry", A, fields, sx.sign_item(A, "entry", fields))
    lines.insert(n, sx.dumps(sim.item_json(twin)))
    expect_bad("equivocation", lines, n + 1, "entry equivocation")
    lines = sim_lines(sim)
    lines.insert(n, lines[n - 1])
    expect_bad("duplicate entry", lines, n + 1, "entry E3 duplicate")

    # E1: an entry of another line; E2: an entry by a non-party for this line.
    sim = base()
    other = sx.LineSim("another", A, B)
    foreign = other.add_entry(A, {1: "x"})
    lines = sim_lines(sim)
    n = find(lines, "receipt")
    lines.insert(n - 1, sx.dumps(other.item_json(foreign)))
    expect_bad("E1 entry of another line", lines, n, "entry E1")
    sim = base()
    f = _entry_map({2: sim.id, 3: C.public})
    intruder = sx.Signed("entry", C, f, sx.sign_item(C, "entry", f))
    lines = sim_lines(sim)
    n = find(lines, "receipt")
    lines.insert(n - 1, sx.dumps(sim.item_json(intruder)))
    expect_bad("E2 author not a party", lines, n, "entry E2")

    # R2: a receipt signed by the chain's author; R2 with a non-party.
    sim = base()
    sim.add_receipt(A, tweak=lambda f: f.update({4: A.public, 5: 1,
                                                 6: sim.chains[A.public][0].hash}))
    lines = sim_lines(sim)
    expect_bad("R2 signer is the chain author", lines, find_last(lines, "receipt"),
               "receipt R2")
    sim = base()
    sim.add_receipt(A, tweak=lambda f: f.update({3: C.public}))
    sim.receipts[-1] = resign(sim.receipts[-1], C)
    lines = sim_lines(sim)
    expect_bad("R2 non-party signer", lines, find_last(lines, "receipt"), "receipt R2")
    # R1: a receipt for another line.
    sim = base()
    sim.add_receipt(A, tweak=lambda f: f.update({2: b"\x07" * 16}))
    lines = sim_lines(sim)
    expect_bad("R1 other line", lines, find_last(lines, "receipt"), "receipt R1")
    # R3: beyond the chain held; wrong hash; non-zero hash with seq 0.
    sim = base()
    sim.add_receipt(B, tweak=lambda f: f.update({5: f[5] + 1}))
    lines = sim_lines(sim)
    expect_bad("R3 beyond the chain", lines, find_last(lines, "receipt"), "receipt R3")
    sim = base()
    sim.add_receipt(B, tweak=lambda f: f.update({6: b"\x03" * 32}))
    lines = sim_lines(sim)
    expect_bad("R3 wrong hash", lines, find_last(lines, "receipt"), "receipt R3")
    sim = base()
    sim.add_receipt(B, seq=0, tweak=lambda f: f.update({6: b"\x03" * 32}))
    lines = sim_lines(sim)
    expect_bad("R3 seq 0 with a hash", lines, find_last(lines, "receipt"), "receipt R3")
    sim = base()
    sim.add_receipt(B, seq=1)
    lines = sim_lines(sim)
    expect_bad("receipts out of order", lines, find_last(lines, "receipt"),
               "receipt receipt-order")
    sim = base()
    sim.add_receipt(B, seq=0)
    lines = sim_lines(sim)
    expect_bad("receipt seq 0 after others", lines, find_last(lines, "receipt"),
               "receipt receipt-order")

    # A receipt or checkpoint line repeated; a second receipt with the same seq is fine.
    sim = base()
    lines = sim_lines(sim)
    r, c = find_last(lines, "receipt"), find_last(lines, "checkpoint")
    expect_bad("duplicate receipt line", lines[:r] + [lines[r - 1]] + lines[r:], r + 1,
               "receipt duplicate")
    expect_bad("duplicate checkpoint line", lines + [lines[c - 1]], len(lines) + 1,
               "checkpoint duplicate")
    sim.add_receipt(B)
    sim.add_receipt(B)
    R.expect(verify(sim_lines(sim))[0], "two receipts for the same seq (other times) are sound")

    # Checkpoints: C1 divergence (own and peer), non-party signer, zeros rule, other line;
    # a head beyond the copy is only unconfirmed.
    for label, change in (("own", {5: b"\x04" * 32}), ("peer", {7: b"\x04" * 32})):
        sim = base()
        sim.add_checkpoint(A, tweak=lambda f, change=change: f.update(change))
        lines = sim_lines(sim)
        expect_bad("C1 divergence %s" % label, lines, len(lines), "checkpoint C1 divergence")
    sim = base()
    sim.add_checkpoint(A, tweak=lambda f: f.update({4: 0}))
    lines = sim_lines(sim)
    expect_bad("C1 own-seq 0 with a hash", lines, len(lines), "checkpoint C1")
    sim = base()
    sim.add_checkpoint(A, tweak=lambda f: f.update({3: C.public}))
    sim.checkpoints[-1] = resign(sim.checkpoints[-1], C)
    lines = sim_lines(sim)
    expect_bad("checkpoint by a non-party", lines, len(lines), "checkpoint signer")
    sim = base()
    sim.add_checkpoint(A, tweak=lambda f: f.update({2: b"\x07" * 16}))
    lines = sim_lines(sim)
    expect_bad("checkpoint of another line", lines, len(lines), "checkpoint line")
    sim = base()
    sim.add_checkpoint(A, tweak=lambda f: f.update({4: f[4] + 3, 5: b"\x04" * 32}))
    ok, _, reason = verify(sim_lines(sim))
    R.expect(ok and "1 unconfirmed" in reason, "head beyond the copy is unconfirmed: " + reason)

    # §8 order: a receipt before an entry; the higher key's entries first.
    sim = base()
    lines = sim_lines(sim)
    r = find(lines, "receipt")
    moved = lines[:1] + [lines[r - 1]] + lines[1:r - 1] + lines[r:]
    expect_bad("receipt before entries", moved, 3, "entry order")
    low, high = sorted((A, B), key=lambda p: p.public)
    first_high = find(lines, "entry", high.fingerprint)
    moved = lines[:1] + lines[first_high - 1:r - 1] + lines[1:first_high - 1] + lines[r - 1:]
    expect_bad("higher key first", moved, r - first_high + 2, "entry order")


def find_last(lines, item_type):
    return max(n for n, t in enumerate(lines, 1) if json.loads(t)["type"] == item_type)


def resign(item, party):
    """The same fields signed by `party` (who is named in them as the signer)."""
    return sx.Signed(item.type, party, item.fields, sx.sign_item(party, item.type, item.fields))


# --- the tamper suite --------------------------------------------------------------------------

def flip_positions(size):
    """First and last byte and ~15 spread evenly, plus one inside the signature (the last 64
    bytes) and one in the middle of the payload."""
    spread = {round(i * (size - 1) / 16) for i in range(1, 16)}
    return sorted({0, size - 1, size - 33, size // 2} | spread)


def tamper_suite(label, lines):
    start = time.time()
    ok, bad_line, reason = verify(lines)
    if not R.expect(ok, "%s: sound before tampering (line %s: %s)" % (label, bad_line, reason)):
        return
    objects = [json.loads(t) for t in lines]
    signed_lines = [n for n, o in enumerate(objects, 1) if o["type"] != "line"]
    flips = misses = 0
    for n in signed_lines:
        obj = objects[n - 1]
        raw = base64.b64decode(obj["signed"])
        for position in flip_positions(len(raw)):
            for mask in (0x01, 0x80):
                data = bytearray(raw)
                data[position] ^= mask
                changed = dict(obj, signed=base64.b64encode(bytes(data)).decode())
                tampered = lines[:n - 1] + [json.dumps(changed)] + lines[n:]
                t_ok, t_line, t_reason = verify(tampered)
                flips += 1
                if not R.expect(not t_ok and t_line == n,
                                "%s: flip 0x%02x at byte %d of line %d: ok=%s line %s %s"
                                % (label, mask, position, n, t_ok, t_line, t_reason)):
                    misses += 1
    print("  %s: %d byte flips in %d signed items, %d not named exactly"
          % (label, flips, len(signed_lines), misses))
    test_entry_edits(label, lines, objects)
    print("  %s: tamper suite %.1f s" % (label, time.time() - start))


def covered(objects, n):
    """Whether deleting entry line n is detectable (§7 last paragraph): it is not the last of
    its chain, or a receipt or a cross-link of the other chain covers it."""
    entry = objects[n - 1]
    later = [o for o in objects if o["type"] == "entry" and o["line"] == entry["line"]
             and o["author"] == entry["author"] and o["seq"] > entry["seq"]]
    if later:
        return True
    for o in objects:
        if o.get("line") != entry["line"]:
            continue
        if o["type"] == "receipt" and o.get("chain") == entry["author"] and \
                o["seq"] >= entry["seq"]:
            return True
        if o["type"] == "entry" and o["author"] != entry["author"] and \
                o.get("cross_seq", 0) >= entry["seq"]:
            return True
    return False


def test_entry_edits(label, lines, objects):
    entries = [n for n, o in enumerate(objects, 1) if o["type"] == "entry"]
    deleted = swapped = duplicated = uncovered = 0
    for n in entries:
        result = verify(lines[:n - 1] + lines[n:])
        if covered(objects, n):
            deleted += 1
            R.expect(not result[0], "%s: deleting entry line %d goes unnoticed" % (label, n))
        else:
            uncovered += 1
            print("  NOTE: %s: entry line %d is the last of its chain and nothing covers it: "
                  "its deletion is undetectable by design (§7); verify says %s"
                  % (label, n, "sound" if result[0] else "BAD"))
        duplicated += 1
        result = verify(lines[:n] + [lines[n - 1]] + lines[n:])
        R.expect(not result[0], "%s: duplicating entry line %d goes unnoticed" % (label, n))
        nxt = n + 1
        if nxt in entries and objects[nxt - 1]["author"] == objects[n - 1]["author"]:
            swapped += 1
            result = verify(lines[:n - 1] + [lines[n], lines[n - 1]] + lines[n + 1:])
            R.expect(not result[0] and result[1] == n,
                     "%s: swapping entry lines %d and %d: %s" % (label, n, nxt, result))
    R.expect(deleted > 0 and duplicated > 0 and swapped > 0,
             "%s: %d deletions, %d swaps, %d duplications all detected (%d uncovered)"
             % (label, deleted, swapped, duplicated, uncovered))


def test_cli(path):
    cli = subprocess.run([sys.executable, os.path.join(HERE, "verify_record.py"), "export",
                          path], capture_output=True, text=True)
    R.expect(cli.returncode == 0 and cli.stdout.startswith("sound: "),
             "export CLI on %s: rc %d %s" % (path, cli.returncode, cli.stdout.strip()))


def export_paths(argv):
    paths = list(argv[1:])
    if os.environ.get("HOTLINE_EXPORT"):
        paths += [p for p in os.environ["HOTLINE_EXPORT"].split(":") if p]
    return paths


def main(argv):
    start = time.time()
    test_vectors()
    test_cbor()
    test_items()
    synthetic = test_synthetic_sound()
    test_json_side(synthetic)
    test_rules()
    tamper_suite("synthetic", synthetic)
    for path in export_paths(argv):
        if not R.expect(os.path.exists(path), "export %s exists" % path):
            continue
        test_cli(path)
        tamper_suite(path, vr.read_export_lines(path))
    print("  total %.1f s" % (time.time() - start))
    print("%d passed, %d failed" % (R.passed, R.failed))
    return 1 if R.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
