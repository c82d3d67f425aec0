#!/usr/bin/python3
"""Independent verifier of the Hotline record format, written from docs/record-format.md alone.

Section numbers (§n) below refer to docs/record-format.md.

Usage:
    /usr/bin/python3 verify_record.py vectors docs/test-vectors.json
    /usr/bin/python3 verify_record.py export FILE.jsonl

Dependencies: the Python standard library and PyNaCl (Debian: python3-nacl) for Ed25519.
The deterministic-CBOR decoder is implemented here on purpose: general CBOR libraries accept
non-canonical input, which §1 requires a verifier to reject.

How an export is checked (verify_export_lines):
  pass 1, every file line on its own: JSON, the header's line id (§6), base64, the signed item
         (§1-§5: canonical CBOR, shape, keys and types, signature), JSON line/author/seq and
         the decoded copies agreeing with the signed bytes (§8);
  pass 2, relations inside each line of the station: E1-E6, equivocation, R1-R3, receipt
         order, checkpoint signer and C1 (§7), and the section order of §8.
All problems are collected; the one reported is on the lowest file line (ties: pass 1 first).
A reference that cannot be resolved because the referenced entry's own line failed pass 1
(e.g. a cross-link into a corrupted entry) is not a second problem: the corrupted line is the
bad one. Choices where the spec is silent are marked "(choice)" below.
"""

import base64
import functools
import hashlib
import json
import re
import sys

import nacl.exceptions
import nacl.signing

# ---------------------------------------------------------------------------------------------
# §1 Conventions
# ---------------------------------------------------------------------------------------------

MAX_DEPTH = 16  # §1: "Nesting is limited to 16 levels" (read here as: at most 16 nested
                # arrays/maps in one decoded item; scalars do not count as a level).
MAX_SIGNED_ITEM = 262144  # §2
ZERO32 = bytes(32)
FINGERPRINT_RE = re.compile(r"\Ahl1:[0-9a-f]{64}\Z")
LINE_ID_RE = re.compile(r"\A[0-9a-f]{32}\Z")
KIND_RE = re.compile(r"\A[a-z0-9-]{1,64}\Z")  # §3 key 9

CONTEXTS = {  # §2 table
    "entry": b"hotline/v1/entry",
    "receipt": b"hotline/v1/receipt",
    "checkpoint": b"hotline/v1/checkpoint",
}


def fingerprint(public_key: bytes) -> str:
    """§1: `hl1:` followed by the 64 lowercase hex digits of the public key."""
    return "hl1:" + public_key.hex()


def parse_fingerprint(text) -> bytes:
    if not isinstance(text, str) or not FINGERPRINT_RE.match(text):
        raise ValueError("not a fingerprint (hl1: + 64 lowercase hex digits): %r" % (text,))
    return bytes.fromhex(text[4:])


def line_id(key_a: bytes, key_b: bytes, name: str) -> bytes:
    """§6: first 16 bytes of SHA-256(min(A, B) || max(A, B) || N)."""
    low, high = sorted((key_a, key_b))
    return hashlib.sha256(low + high + name.encode("utf-8")).digest()[:16]


# ---------------------------------------------------------------------------------------------
# §1 Deterministic CBOR: a strict decoder
# ---------------------------------------------------------------------------------------------

class CborError(Exception):
    """A rejected encoding. `category` is one of:
    truncated, trailing, non-canonical (non-shortest head, unsorted map keys),
    duplicate-key, indefinite-length, unsupported (tag, float, other simple value, reserved
    additional info), invalid-utf8, too-deep."""

    def __init__(self, category, detail):
        super().__init__("%s: %s" % (category, detail))
        self.category = category
        self.detail = detail


class CborMap:
    """A decoded map. Python dicts cannot hold it faithfully (1 == True in Python), so the
    pairs are kept in encoded order together with each key's exact encoding."""

    __slots__ = ("pairs", "raw_keys")

    def __init__(self, pairs, raw_keys):
        self.pairs = tuple(pairs)        # ((key, value), ...) in encoded (sorted) order
        self.raw_keys = tuple(raw_keys)  # encoded bytes of each key, same order

    def __repr__(self):
        return "CborMap(%r)" % (self.pairs,)


# Minimum value for each long head form (additional info 24..27); anything smaller must have
# used a shorter head (RFC 8949 §4.2.1, "preferred serialization").
_HEAD_MINIMUM = {24: 24, 25: 0x100, 26: 0x10000, 27: 0x100000000}
_SIMPLE_ALLOWED = {0xF4: False, 0xF5: True, 0xF6: None}


class _Decoder:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def _take(self, n):
        if n > len(self.data) - self.pos:
            raise CborError("truncated", "needs %d bytes at offset %d" % (n, self.pos))
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def _head(self):
        """Reads one head; returns (major, argument). Rejects what §1 forbids."""
        offset = self.pos
        initial = self._take(1)[0]
        major, info = initial >> 5, initial & 0x1F
        if major == 6:
            raise CborError("unsupported", "tag at offset %d" % offset)
        if major == 7:
            if initial in _SIMPLE_ALLOWED:
                return 7, initial
            if initial == 0xFF:
                raise CborError("indefinite-length", "break byte at offset %d" % offset)
            kind = "float" if info in (25, 26, 27) else "simple value"
            raise CborError("unsupported", "%s 0x%02x at offset %d" % (kind, initial, offset))
        if info < 24:
            return major, info
        if info in _HEAD_MINIMUM:
            size = 1 << (info - 24)
            argument = int.from_bytes(self._take(size), "big")
            if argument < _HEAD_MINIMUM[info]:
                raise CborError("non-canonical",
                                "argument %d not in its shortest form at offset %d"
                                % (argument, offset))
            return major, argument
        if info == 31:
            raise CborError("indefinite-length", "at offset %d" % offset)
        raise CborError("unsupported", "reserved additional info %d at offset %d" % (info, offset))

    def item(self, depth):
        major, argument = self._head()
        if major == 0:
            return argument
        if major == 1:
            # §1: negative integers go down to -2^63 (they must fit a signed 64-bit integer).
            if argument > 2 ** 63 - 1:
                raise CborError("unsupported", "negative integer below -2^63")
            return -1 - argument
        if major == 2:
            return self._take(argument)
        if major == 3:
            offset = self.pos
            raw = self._take(argument)
            try:
                return raw.decode("utf-8")  # strict: rejects overlongs, surrogates, bad bytes
            except UnicodeDecodeError as error:
                raise CborError("invalid-utf8", "text at offset %d: %s" % (offset, error))
        if major == 7:
            return _SIMPLE_ALLOWED[argument]
        # Arrays and maps: one more nesting level.
        if depth + 1 > MAX_DEPTH:
            raise CborError("too-deep", "more than %d nested levels" % MAX_DEPTH)
        remaining = len(self.data) - self.pos
        if major == 4:
            if argument > remaining:  # each element takes at least one byte
                raise CborError("truncated", "array of %d items" % argument)
            return tuple(self.item(depth + 1) for _ in range(argument))
        # major == 5
        if argument * 2 > remaining:
            raise CborError("truncated", "map of %d pairs" % argument)
        pairs, raw_keys = [], []
        for _ in range(argument):
            key_start = self.pos
            key = self.item(depth + 1)
            raw_key = self.data[key_start:self.pos]
            if raw_keys and raw_key <= raw_keys[-1]:
                if raw_key == raw_keys[-1]:
                    raise CborError("duplicate-key", "map key at offset %d" % key_start)
                raise CborError("non-canonical", "map keys not sorted at offset %d" % key_start)
            value = self.item(depth + 1)
            pairs.append((key, value))
            raw_keys.append(raw_key)
        return CborMap(pairs, raw_keys)


def cbor_decode(data: bytes):
    """Decodes exactly one deterministic-CBOR item that spans all of `data` (§1).

    Returns int, bytes, str, tuple (array), CborMap, False/True/None. Raises CborError."""
    decoder = _Decoder(bytes(data))
    value = decoder.item(0)
    if decoder.pos != len(decoder.data):
        raise CborError("trailing", "%d byte(s) after the item" % (len(decoder.data) - decoder.pos))
    return value


def encode_uint_key(n: int) -> bytes:
    """Deterministic encoding of a small unsigned integer (the payload map keys 1..10)."""
    assert 0 <= n < 24
    return bytes([n])


# ---------------------------------------------------------------------------------------------
# §2-§5 Signed items and their payloads
# ---------------------------------------------------------------------------------------------

class ItemError(Exception):
    """A signed item that is not valid on its own. `category` is a CborError category, or one
    of: too-large, shape, malformed, signature."""

    def __init__(self, category, detail):
        super().__init__("%s: %s" % (category, detail))
        self.category = category
        self.detail = detail


def _is_uint(v):
    return type(v) is int and v >= 0


# Payload schemas: key -> (field name, type). Types: "uint", "version", ("bytes", n), "kind",
# "any". The key set must be exactly 1..len(schema) (§2: missing or extra key = malformed).
SCHEMAS = {
    "entry": [  # §3
        ("version", "version"), ("line", ("bytes", 16)), ("author", ("bytes", 32)),
        ("seq", "uint"), ("prev", ("bytes", 32)), ("time", "uint"), ("cross_seq", "uint"),
        ("cross_hash", ("bytes", 32)), ("kind", "kind"), ("body", "any"),
    ],
    "receipt": [  # §4
        ("version", "version"), ("line", ("bytes", 16)), ("signer", ("bytes", 32)),
        ("chain_author", ("bytes", 32)), ("seq", "uint"), ("hash", ("bytes", 32)),
        ("time", "uint"),
    ],
    "checkpoint": [  # §5
        ("version", "version"), ("line", ("bytes", 16)), ("signer", ("bytes", 32)),
        ("own_seq", "uint"), ("own_hash", ("bytes", 32)), ("peer_seq", "uint"),
        ("peer_hash", ("bytes", 32)), ("time", "uint"),
    ],
}


def _check_field(name, kind, value):
    if kind == "any":
        return  # any allowed CBOR: the decoder already enforced §1
    if kind == "version":
        if type(value) is not int or value != 1:
            raise ItemError("malformed", "version is %r, not 1" % (value,))
    elif kind == "uint":
        if not _is_uint(value):
            raise ItemError("malformed", "%s is not an unsigned integer" % name)
    elif kind == "kind":
        if type(value) is not str or not KIND_RE.match(value):
            raise ItemError("malformed", "kind %r is not 1-64 of a-z 0-9 -" % (value,))
    else:
        size = kind[1]
        if type(value) is not bytes or len(value) != size:
            raise ItemError("malformed", "%s is not a byte string of %d bytes" % (name, size))


def parse_payload(item_type: str, payload: bytes) -> dict:
    """Decodes and type-checks a payload (§3-§5). Returns {field name: value}."""
    try:
        decoded = cbor_decode(payload)
    except CborError as error:
        raise ItemError(error.category, "payload: " + error.detail)
    schema = SCHEMAS[item_type]
    if not isinstance(decoded, CborMap):
        raise ItemError("malformed", "payload is not a map")
    expected_keys = tuple(encode_uint_key(k) for k in range(1, len(schema) + 1))
    if decoded.raw_keys != expected_keys:
        raise ItemError("malformed", "payload keys are not exactly 1..%d" % len(schema))
    fields = {}
    for (name, kind), (_, value) in zip(schema, decoded.pairs):
        _check_field(name, kind, value)
        fields[name] = value
    if item_type == "entry" and fields["seq"] < 1:  # §3: seq is uint >= 1
        raise ItemError("malformed", "entry seq is 0")
    return fields


class Item:
    """A signed item that decoded, type-checked and whose signature verified."""

    __slots__ = ("type", "signed", "payload", "signature", "fields", "hash")

    def __init__(self, item_type, signed, payload, signature, fields):
        self.type = item_type
        self.signed = signed
        self.payload = payload
        self.signature = signature
        self.fields = fields
        self.hash = hashlib.sha256(signed).digest()  # §2: over all the signed-item bytes

    @property
    def signer(self) -> bytes:
        """Author of an entry, signer of a receipt or checkpoint (payload key 3 in all)."""
        return self.fields["author"] if self.type == "entry" else self.fields["signer"]


def signature_valid(context: bytes, payload: bytes, signature: bytes, public_key: bytes) -> bool:
    """§2: Ed25519 over context || 0x00 || payload."""
    try:
        nacl.signing.VerifyKey(public_key).verify(context + b"\x00" + payload, signature)
        return True
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        return False


def parse_signed_item(item_type: str, signed: bytes) -> Item:
    """Checks one signed item on its own (§7 "Every item"). Raises ItemError."""
    if len(signed) > MAX_SIGNED_ITEM:
        raise ItemError("too-large", "%d bytes > %d" % (len(signed), MAX_SIGNED_ITEM))
    try:
        outer = cbor_decode(signed)
    except CborError as error:
        raise ItemError(error.category, error.detail)
    if not (type(outer) is tuple and len(outer) == 2 and type(outer[0]) is bytes
            and type(outer[1]) is bytes):
        raise ItemError("shape", "not an array of 2 byte strings (§2)")
    payload, signature = outer
    if len(signature) != 64:
        raise ItemError("shape", "signature is %d bytes, not 64" % len(signature))
    fields = parse_payload(item_type, payload)
    item = Item(item_type, signed, payload, signature, fields)
    if not signature_valid(CONTEXTS[item_type], payload, signature, item.signer):
        raise ItemError("signature", "does not verify with %s in context %s"
                        % (fingerprint(item.signer), CONTEXTS[item_type].decode()))
    return item


@functools.lru_cache(maxsize=1 << 16)
def _parse_signed_item_cached(item_type, signed):
    """Memoised parse_signed_item (pure function): returns an Item or an ItemError."""
    try:
        return parse_signed_item(item_type, signed)
    except ItemError as error:
        return error


# ---------------------------------------------------------------------------------------------
# §8 Export: the JSON side
# ---------------------------------------------------------------------------------------------

class LineProblem(Exception):
    """A problem local to one line of the export file (raised while parsing that line)."""

    def __init__(self, item_type, reason):
        super().__init__(reason)
        self.item_type = item_type
        self.reason = reason


def _reject_constant(name):
    raise ValueError("JSON constant %s is not allowed" % name)


def _no_duplicate_keys(pairs):
    """(choice) A JSON object with a repeated key is rejected: readers disagree on which value
    counts, so "seq" or "signed" could say two things."""
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError("duplicate JSON key %r" % key)
        obj[key] = value
    return obj


def _load_json(text):
    return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant)


def _strict_b64decode(text) -> bytes:
    """§8: standard base64 (RFC 4648 §4), padded. (choice) Non-canonical padding bits are
    rejected so that one signed item has exactly one textual form."""
    if not isinstance(text, str):
        raise ValueError("not a string")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as error:
        raise ValueError("invalid base64: %s" % error)
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("base64 not in canonical padded form")
    return raw


def body_to_json(value):
    """§8: "In `body`, map keys become strings and byte strings become {"base64": …}".
    Raises ValueError when the spec does not say how a value is shown (map keys other than
    integers and text, or two keys that become the same string)."""
    if isinstance(value, CborMap):
        out = {}
        for key, item in value.pairs:
            if type(key) is int:
                text_key = str(key)
            elif type(key) is str:
                text_key = key
            else:
                raise ValueError("map key of type %s has no documented JSON form" % type(key))
            if text_key in out:
                raise ValueError("two map keys become the string %r" % text_key)
            out[text_key] = body_to_json(item)
        return out
    if type(value) is bytes:
        return {"base64": base64.b64encode(value).decode("ascii")}
    if type(value) is tuple:
        return [body_to_json(v) for v in value]
    return value  # int, str, True/False/None


def json_equal(a, b) -> bool:
    """Deep equality that, unlike ==, tells 1 from true and 1 from 1.0."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return a == b


def _hex(b):
    return b.hex()


# (choice) The decoded copies (§8: "the other fields ... are decoded copies for readers") that
# this verifier checks when present, with the form used by the test vectors' "fields": hashes and
# keys in lowercase hex, keys as fingerprints, integers as JSON numbers. A copy that disagrees
# with the signed bytes would mislead a reader of a record reported "sound".
COPY_FIELDS = {
    "entry": {
        "hash": lambda it: _hex(it.hash),
        "prev": lambda it: _hex(it.fields["prev"]),
        "time": lambda it: it.fields["time"],
        "cross_seq": lambda it: it.fields["cross_seq"],
        "cross_hash": lambda it: _hex(it.fields["cross_hash"]),
        "kind": lambda it: it.fields["kind"],
        "body": lambda it: body_to_json(it.fields["body"]),
    },
    "receipt": {
        # In a receipt line, "hash" is the acknowledged entry's hash (payload key 6), as the
        # real export writes it, not the receipt's own item hash.
        "hash": lambda it: _hex(it.fields["hash"]),
        "chain": lambda it: fingerprint(it.fields["chain_author"]),
        "time": lambda it: it.fields["time"],
    },
    "checkpoint": {
        "own_seq": lambda it: it.fields["own_seq"],
        "own_hash": lambda it: _hex(it.fields["own_hash"]),
        "peer_seq": lambda it: it.fields["peer_seq"],
        "peer_hash": lambda it: _hex(it.fields["peer_hash"]),
        "time": lambda it: it.fields["time"],
    },
}


class Header:
    __slots__ = ("line_no", "line_id", "name", "parties")

    def __init__(self, line_no, line_id_bytes, name, parties):
        self.line_no = line_no
        self.line_id = line_id_bytes
        self.name = name
        self.parties = parties  # (lower key, higher key)


class Slot:
    """One signed-item line of the export. `item` is None when the line failed on its own;
    `claimed_author` is then the JSON "author" (bytes) if it parsed, for attributing problems."""

    __slots__ = ("line_no", "type", "item", "claimed_author")

    def __init__(self, line_no, item_type, item, claimed_author):
        self.line_no = line_no
        self.type = item_type
        self.item = item
        self.claimed_author = claimed_author


def _parse_header(obj):
    """§8 line header; §6 re-derivation of the line id. Returns (line id, name, parties)."""
    line_hex, name, parties = obj.get("line"), obj.get("name"), obj.get("parties")
    # (choice) lowercase, like fingerprints (§1); §8 only says "<32 hex>".
    if not isinstance(line_hex, str) or not LINE_ID_RE.match(line_hex):
        raise LineProblem("line", "header: 'line' is not 32 lowercase hex digits")
    if not isinstance(name, str):
        raise LineProblem("line", "header: 'name' is not a string")
    try:
        name_bytes = name.encode("utf-8")
    except UnicodeEncodeError:
        raise LineProblem("line", "header: 'name' is not valid Unicode")
    if not 1 <= len(name_bytes) <= 128:
        raise LineProblem("line", "header: name is %d bytes, not 1-128 (§6)" % len(name_bytes))
    if not isinstance(parties, list) or len(parties) != 2:
        raise LineProblem("line", "header: 'parties' is not a list of two fingerprints")
    try:
        keys = [parse_fingerprint(p) for p in parties]
    except ValueError as error:
        raise LineProblem("line", "header: %s" % error)
    if keys[0] == keys[1]:  # (choice) §6 speaks of a line *between* two stations
        raise LineProblem("line", "header: the two parties are the same key")
    derived = line_id(keys[0], keys[1], name)
    if derived.hex() != line_hex:
        raise LineProblem("line", "header: line id %s does not derive from parties and name "
                                  "(expected %s, §6)" % (line_hex, derived.hex()))
    return derived, name, tuple(sorted(keys))


def _parse_item_line(obj, item_type):
    """One entry/receipt/checkpoint line, on its own: JSON envelope, base64, the signed item
    (§7 "Every item") and agreement of line/author/seq and the decoded copies (§8).
    Returns (Item or None, claimed author or None, LineProblem or None)."""
    claimed_author = None
    try:
        claimed_author = parse_fingerprint(obj.get("author"))
    except ValueError:
        pass
    try:
        raw = _strict_b64decode(obj.get("signed"))
    except ValueError as error:
        return None, claimed_author, LineProblem(item_type, "json: 'signed': %s" % error)
    parsed = _parse_signed_item_cached(item_type, raw)
    if isinstance(parsed, ItemError):
        return None, claimed_author, LineProblem(item_type, "%s: %s" % (parsed.category,
                                                                       parsed.detail))
    item = parsed
    # §8: "line, author and seq must agree with the signed bytes".
    seq_field = {"entry": "seq", "receipt": "seq", "checkpoint": "own_seq"}[item_type]
    expected = {"line": item.fields["line"].hex(), "author": fingerprint(item.signer),
                "seq": item.fields[seq_field]}
    for key, value in expected.items():
        if key not in obj:
            return None, claimed_author, LineProblem(item_type, "json: '%s' is missing" % key)
        if not json_equal(obj[key], value):
            return None, claimed_author, LineProblem(
                item_type, "json: '%s' %s disagrees with the signed bytes (%s)"
                % (key, json.dumps(obj[key]), json.dumps(value)))
    for key, getter in COPY_FIELDS[item_type].items():
        if key not in obj:
            continue
        try:
            value = getter(item)
        except ValueError:
            continue  # the spec does not define the copy's form; nothing to compare with
        if not json_equal(obj[key], value):
            return None, claimed_author, LineProblem(
                item_type, "json: decoded copy '%s' disagrees with the signed bytes" % key)
    return item, claimed_author, None


@functools.lru_cache(maxsize=1 << 16)
def _parse_line(text):
    """Parses one line of the export on its own (memoised: a pure function of the text).
    Returns ("line", header tuple) / ("item", type, Item|None, claimed author) plus an
    optional LineProblem as last element."""
    try:
        text.encode("utf-8")  # lone surrogates (undecodable bytes, see read_export_lines)
    except UnicodeEncodeError:
        return ("bad", None, LineProblem("json", "the line is not valid UTF-8"))
    try:
        obj = _load_json(text)
    except (ValueError, RecursionError) as error:
        return ("bad", None, LineProblem("json", "not valid JSON: %s" % error))
    if not isinstance(obj, dict):
        return ("bad", None, LineProblem("json", "not a JSON object"))
    item_type = obj.get("type")
    if item_type == "line":
        try:
            return ("line", _parse_header(obj), None)
        except LineProblem as problem:
            return ("line", None, problem)
    if item_type in CONTEXTS:
        item, claimed, problem = _parse_item_line(obj, item_type)
        return ("item", (item_type, item, claimed), problem)
    return ("bad", None, LineProblem("json", "unknown type %s" % json.dumps(item_type)))


# ---------------------------------------------------------------------------------------------
# §7 Verification of an export
# ---------------------------------------------------------------------------------------------

class Problems:
    """Collects problems; the reported one is on the lowest line number, and on one line the
    first found (line-local checks run before the relations between items)."""

    def __init__(self):
        self.found = []

    def add(self, line_no, item_type, reason):
        self.found.append((line_no, len(self.found), item_type, reason))

    def first(self):
        return min(self.found) if self.found else None


class Block:
    """One line of the station (§8): its header and the signed items that follow it."""

    def __init__(self, header):
        self.header = header  # Header or None when the header itself was bad
        self.slots = []


class ChainView:
    """One party's chain as the record holds it (§7): valid entries by seq, and whether some
    entry line of this chain failed on its own ("tainted": a reference that cannot be resolved
    may point at that line, which is reported itself)."""

    def __init__(self):
        self.by_seq = {}
        self.tainted = False

    def lookup(self, seq):
        return self.by_seq.get(seq, [])


def _party_of(block, slot):
    key = slot.item.signer if slot.item is not None else slot.claimed_author
    return key if key in block.header.parties else None


def _check_order(block, problems):
    """§8: entries of the lower key, then of the other party, then receipts, then checkpoints.
    (choice) §8 describes what `hotline export` writes; this verifier holds exports to it."""
    stage_names = ["entries of the lower key", "entries of the higher key", "receipts",
                   "checkpoints"]
    highest = 0
    for slot in block.slots:
        if slot.item is not None and slot.item.fields["line"] != block.header.line_id:
            continue  # E1, R1 or the checkpoint's line rule reports it
        if slot.type == "entry":
            party = _party_of(block, slot)
            if party is None:
                continue  # E2 reports it (or the line failed on its own)
            stage = block.header.parties.index(party)
        else:
            stage = 2 if slot.type == "receipt" else 3
        if stage < highest:
            problems.add(slot.line_no, slot.type, "order: %s after %s (§8)"
                         % (stage_names[stage], stage_names[highest]))
        highest = max(highest, stage)


def _check_chain(party, slots, view, problems):
    """E3, E4, E5 and the monotonic half of E6 along one party's chain; equivocation.
    (choice) A repeated seq is "E3 duplicate" when the bytes are identical and "equivocation"
    when they differ; equivocation is checked for entries only (§7 lists it with the chains)."""
    previous = None      # previous valid entry of this chain
    after_bad = False    # the slot just before failed on its own: no predecessor to compare
    first = True
    for slot in slots:
        if slot.item is None:
            view.tainted = True
            after_bad, first = True, False
            continue
        entry = slot.item
        f = entry.fields
        same_seq = list(view.lookup(f["seq"]))  # entries already held with this seq
        view.by_seq.setdefault(f["seq"], []).append(entry)
        if f["seq"] == 1 and f["prev"] != ZERO32:
            problems.add(slot.line_no, "entry", "E4 prev of seq 1 is not zeros")
        if f["cross_seq"] == 0 and f["cross_hash"] != ZERO32:
            problems.add(slot.line_no, "entry", "E6 cross-hash is not zeros with cross-seq 0")
        if same_seq:
            if any(other.signed == entry.signed for other in same_seq):
                problems.add(slot.line_no, "entry", "E3 duplicate of entry seq %d" % f["seq"])
            else:
                problems.add(slot.line_no, "entry", "equivocation: two different validly "
                             "signed entries for seq %d" % f["seq"])
        elif first:
            if f["seq"] != 1:
                problems.add(slot.line_no, "entry", "E3 chain starts at seq %d, not 1" % f["seq"])
        elif previous is not None and not after_bad:
            p = previous.fields
            if f["seq"] != p["seq"] + 1:
                problems.add(slot.line_no, "entry", "E3 seq %d follows seq %d (expected %d)"
                             % (f["seq"], p["seq"], p["seq"] + 1))
            elif f["prev"] != previous.hash:
                problems.add(slot.line_no, "entry", "E4 prev is not the hash of entry seq %d"
                             % p["seq"])
            if f["time"] < p["time"]:
                problems.add(slot.line_no, "entry", "E5 time %d earlier than previous %d"
                             % (f["time"], p["time"]))
            if f["cross_seq"] < p["cross_seq"]:
                problems.add(slot.line_no, "entry", "E6 cross-seq decreases (%d after %d)"
                             % (f["cross_seq"], p["cross_seq"]))
        previous, after_bad, first = entry, False, False


def _resolve(view, seq, expected_hash):
    """Looks up entry `seq` of a chain: "ok", "mismatch", "missing" or "unknown" (the chain
    has a line that failed on its own, which may be that entry)."""
    held = view.lookup(seq)
    if any(e.hash == expected_hash for e in held):
        return "ok"
    if held:
        return "mismatch"
    return "unknown" if view.tainted else "missing"


def _check_cross_links(block, entry_slots, views, problems):
    """E6: the cross-link names an entry of the other chain that the record holds, with its
    hash."""
    for slot, party in entry_slots:
        f = slot.item.fields
        if f["cross_seq"] == 0:
            continue
        other = block.header.parties[1 - block.header.parties.index(party)]
        result = _resolve(views[other], f["cross_seq"], f["cross_hash"])
        if result == "mismatch":
            problems.add(slot.line_no, "entry", "E6 cross-hash is not the hash of the other "
                         "chain's entry seq %d" % f["cross_seq"])
        elif result == "missing":
            problems.add(slot.line_no, "entry", "E6 cross-link to seq %d of the other chain, "
                         "which the record does not hold" % f["cross_seq"])


def _check_repeats(block, problems):
    """(choice) A receipt or checkpoint whose exact signed bytes appear twice. §7 only names
    duplicates for entries (E3), but a station stores an item once, so a repeated line is not
    a faithful copy of the record."""
    seen = {}
    for slot in block.slots:
        if slot.type == "entry" or slot.item is None:
            continue
        if slot.item.signed in seen:
            problems.add(slot.line_no, slot.type, "duplicate: the same signed %s as on line %d"
                         % (slot.type, seen[slot.item.signed]))
        else:
            seen[slot.item.signed] = slot.line_no


def _check_receipts(block, views, problems):
    """R1-R3 and the arrival order of receipts for one chain (§7 Receipts)."""
    parties = block.header.parties
    last_seq = {}
    for slot in block.slots:
        if slot.type != "receipt" or slot.item is None:
            continue
        f = slot.item.fields
        if f["line"] != block.header.line_id:
            problems.add(slot.line_no, "receipt", "R1 receipt is for line %s, not %s"
                         % (f["line"].hex(), block.header.line_id.hex()))
            continue
        if (f["signer"] not in parties or f["chain_author"] not in parties
                or f["signer"] == f["chain_author"]):
            problems.add(slot.line_no, "receipt", "R2 signer %s is not the party other than "
                         "the chain's author %s" % (fingerprint(f["signer"]),
                                                    fingerprint(f["chain_author"])))
            continue
        chain = f["chain_author"]
        if f["seq"] == 0:
            if f["hash"] != ZERO32:
                problems.add(slot.line_no, "receipt", "R3 hash is not zeros with seq 0")
        else:
            result = _resolve(views[chain], f["seq"], f["hash"])
            if result == "mismatch":
                problems.add(slot.line_no, "receipt", "R3 hash is not the hash of entry seq %d"
                             % f["seq"])
            elif result == "missing":
                problems.add(slot.line_no, "receipt", "R3 seq %d is not within the chain the "
                             "record holds" % f["seq"])
        if chain in last_seq and f["seq"] < last_seq[chain]:
            # (choice of name) §7 states this rule without a rule name.
            problems.add(slot.line_no, "receipt", "receipt-order: seq %d after a receipt for "
                         "seq %d of the same chain" % (f["seq"], last_seq[chain]))
        last_seq[chain] = max(f["seq"], last_seq.get(chain, 0))


def _check_checkpoints(block, views, problems, counts):
    """Checkpoint signer is a party; C1: a head within the record's copy has the same hash
    (else divergence); a head beyond it is counted as unconfirmed (§7 Checkpoints)."""
    parties = block.header.parties
    for slot in block.slots:
        if slot.type != "checkpoint" or slot.item is None:
            continue
        f = slot.item.fields
        if f["line"] != block.header.line_id:  # (choice) §7 names no rule for this
            problems.add(slot.line_no, "checkpoint", "line: checkpoint is for line %s, not %s"
                         % (f["line"].hex(), block.header.line_id.hex()))
            continue
        if f["signer"] not in parties:
            problems.add(slot.line_no, "checkpoint", "signer %s is not a party of the line"
                         % fingerprint(f["signer"]))
            continue
        other = parties[1 - parties.index(f["signer"])]
        for label, chain, seq, digest in (("own", f["signer"], f["own_seq"], f["own_hash"]),
                                          ("peer", other, f["peer_seq"], f["peer_hash"])):
            if seq == 0:
                if digest != ZERO32:
                    problems.add(slot.line_no, "checkpoint",
                                 "C1 %s-hash is not zeros with %s-seq 0" % (label, label))
                continue
            result = _resolve(views[chain], seq, digest)
            if result == "mismatch":
                problems.add(slot.line_no, "checkpoint", "C1 divergence: %s head seq %d has "
                             "another hash than the record's entry" % (label, seq))
            elif result in ("missing", "unknown"):
                counts["unconfirmed"] += 1


def _check_block(block, problems, counts):
    """All relations inside one line of the export (§7)."""
    header = block.header
    chains = {party: [] for party in header.parties}
    entry_slots = []  # (slot, party) of valid entries of a party
    for slot in block.slots:
        if slot.type != "entry":
            continue
        if slot.item is None:
            if slot.claimed_author in chains:
                chains[slot.claimed_author].append(slot)
            else:
                for party_slots in chains.values():  # unknown author: may be either chain's
                    party_slots.append(slot)
            continue
        f = slot.item.fields
        if f["line"] != header.line_id:
            problems.add(slot.line_no, "entry", "E1 entry is for line %s, not %s"
                         % (f["line"].hex(), header.line_id.hex()))
            continue
        if f["author"] not in chains:
            problems.add(slot.line_no, "entry", "E2 author %s is not a party of the line"
                         % fingerprint(f["author"]))
            continue
        chains[f["author"]].append(slot)
        entry_slots.append((slot, f["author"]))
    _check_order(block, problems)  # after E1/E2, which name an item's problem better
    views = {party: ChainView() for party in header.parties}
    for party, slots in chains.items():
        _check_chain(party, slots, views[party], problems)
    _check_cross_links(block, entry_slots, views, problems)
    _check_repeats(block, problems)
    _check_receipts(block, views, problems)
    _check_checkpoints(block, views, problems, counts)


def check_export(lines):
    """Verifies an export given as its lines (without line terminators). Returns
    (Problems, counts)."""
    problems = Problems()
    counts = {"lines": 0, "entry": 0, "receipt": 0, "checkpoint": 0, "unconfirmed": 0}
    blocks, seen_ids = [], {}
    current = None
    # Pass 1: every line on its own (JSON, base64, CBOR, keys, signature, JSON agreement).
    for line_no, text in enumerate(lines, 1):
        kind, value, problem = _parse_line(text)
        if problem is not None:
            problems.add(line_no, problem.item_type, problem.reason)
        if kind == "line":
            header = Header(line_no, *value) if value is not None else None
            if header is not None:
                if header.line_id in seen_ids:
                    problems.add(line_no, "line", "header: line %s already appeared on line %d"
                                 % (header.line_id.hex(), seen_ids[header.line_id]))
                    header = None
                else:
                    seen_ids[header.line_id] = line_no
            current = Block(header)
            blocks.append(current)
            counts["lines"] += 1
        elif kind == "item":
            item_type, item, claimed = value
            if current is None:
                problems.add(line_no, item_type, "no line header before this item (§8)")
                continue
            current.slots.append(Slot(line_no, item_type, item, claimed))
            counts[item_type] += 1
    # Pass 2: relations between the items of each line (§7).
    for block in blocks:
        if block.header is not None:
            _check_block(block, problems, counts)
    return problems, counts


def verify_export_lines(lines):
    """Returns (ok, bad_line, reason). `reason` is "<type> <reason>" for a bad record and a
    summary for a sound one."""
    problems, counts = check_export(lines)
    first = problems.first()
    if first is not None:
        line_no, _, item_type, reason = first
        return False, line_no, "%s %s" % (item_type, reason)
    summary = ("%d line(s), %d entries, %d receipts, %d checkpoints, %d unconfirmed head(s)"
               % (counts["lines"], counts["entry"], counts["receipt"], counts["checkpoint"],
                  counts["unconfirmed"]))
    return True, None, summary


def read_export_lines(path):
    """The lines of a JSON Lines file, without terminators (a final newline ends the last
    line; it does not start an empty one)."""
    with open(path, "rb") as handle:
        data = handle.read()
    # Undecodable bytes become lone surrogates, which _parse_line reports on their own line.
    text = data.decode("utf-8", errors="surrogateescape")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


# ---------------------------------------------------------------------------------------------
# §10 Test vectors
# ---------------------------------------------------------------------------------------------

# Invalid vectors and the rejection category each must produce (§10 items 6-8).
INVALID_VECTORS = {
    "invalid_non_canonical": "non-canonical",
    "invalid_bad_signature": "signature",
    "invalid_trailing_byte": "trailing",
}
VALID_VECTORS = {  # name -> (type, signer key name)
    "entry_first": ("entry", "alpha"),
    "entry_cross_linked": ("entry", "bravo"),
    "entry_second": ("entry", "alpha"),
    "receipt": ("receipt", "bravo"),
    "checkpoint": ("checkpoint", "alpha"),
}


class VectorChecker:
    def __init__(self, doc):
        self.doc = doc
        self.failures = []
        self.passed = 0
        self.items = {}

    def expect(self, condition, message):
        if condition:
            self.passed += 1
        else:
            self.failures.append(message)
        return condition

    def check_keys_and_line(self):
        keys = {}
        for name, key in self.doc["keys"].items():
            public = bytes(nacl.signing.SigningKey(bytes.fromhex(key["seed"])).verify_key)
            self.expect(fingerprint(public) == key["fingerprint"],
                        "keys.%s: fingerprint does not match the seed's public key" % name)
            keys[name] = public
        self.keys = keys
        derived = line_id(keys["alpha"], keys["bravo"], self.doc["line"]["name"])
        self.expect(derived.hex() == self.doc["line"]["id"],
                    "line: id %s does not derive from the keys and name (expected %s)"
                    % (self.doc["line"]["id"], derived.hex()))
        self.line = derived

    def check_valid(self, name, item_type, signer_name):
        vector = self.doc[name]
        signed = bytes.fromhex(vector["signed"])
        try:
            item = parse_signed_item(item_type, signed)
        except ItemError as error:
            self.expect(False, "%s: rejected: %s" % (name, error))
            return
        self.items[name] = item
        self.expect(vector["context"] == CONTEXTS[item_type].decode(),
                    "%s: context %r" % (name, vector["context"]))
        self.expect(item.payload.hex() == vector["payload"], "%s: payload differs" % name)
        self.expect(item.signature.hex() == vector["signature"], "%s: signature differs" % name)
        self.expect(item.hash.hex() == vector["hash"], "%s: hash is not SHA-256(signed)" % name)
        self.expect(base64.b64decode(vector["signed_base64"]) == signed,
                    "%s: signed_base64 differs from signed" % name)
        self.expect(item.signer == self.keys[signer_name],
                    "%s: not signed by %s" % (name, signer_name))
        self.expect(item.fields["line"] == self.line, "%s: not on the vectors' line" % name)
        for key, value in vector.get("fields", {}).items():
            actual = {"author": lambda: fingerprint(item.fields["author"]),
                      "prev": lambda: item.fields["prev"].hex(),
                      "cross_hash": lambda: item.fields["cross_hash"].hex()}.get(
                          key, lambda: item.fields.get(key, KeyError))()
            self.expect(json_equal(actual, value), "%s: field %s is %r, expected %r"
                        % (name, key, actual, value))

    def check_invalid(self, name, category):
        vector = self.doc[name]
        try:
            parse_signed_item("entry", bytes.fromhex(vector["signed"]))
        except ItemError as error:
            self.expect(error.category == category, "%s: rejected as %s (%s), expected %s"
                        % (name, error.category, error.detail, category))
            return
        self.expect(False, "%s: accepted, must be rejected (%s)" % (name, category))

    def check_relations(self):
        """§10: the chain, cross-link, receipt and checkpoint relations between the vectors."""
        it = self.items
        if len(it) != len(VALID_VECTORS):
            return
        first, cross, second = it["entry_first"].fields, it["entry_cross_linked"].fields, \
            it["entry_second"].fields
        receipt, checkpoint = it["receipt"].fields, it["checkpoint"].fields
        h = {name: item.hash for name, item in it.items()}
        checks = [
            (first["seq"] == 1 and first["prev"] == ZERO32, "entry_first: seq 1, prev zeros"),
            (first["cross_seq"] == 0 and first["cross_hash"] == ZERO32,
             "entry_first: no cross-link"),
            (cross["seq"] == 1 and cross["prev"] == ZERO32, "entry_cross_linked: seq 1"),
            (cross["cross_seq"] == 1 and cross["cross_hash"] == h["entry_first"],
             "entry_cross_linked: cross-links alpha's entry 1"),
            (second["seq"] == 2 and second["prev"] == h["entry_first"],
             "entry_second: prev is entry_first's hash"),
            (second["time"] >= first["time"], "entry_second: time not earlier (E5)"),
            (second["cross_seq"] == 1 and second["cross_hash"] == h["entry_cross_linked"],
             "entry_second: cross-links bravo's entry 1"),
            (receipt["chain_author"] == self.keys["alpha"] and receipt["seq"] == 2
             and receipt["hash"] == h["entry_second"], "receipt: names alpha's entry 2"),
            (receipt["signer"] != receipt["chain_author"], "receipt: R2"),
            (checkpoint["own_seq"] == 2 and checkpoint["own_hash"] == h["entry_second"],
             "checkpoint: own head is entry_second"),
            (checkpoint["peer_seq"] == 1 and checkpoint["peer_hash"] == h["entry_cross_linked"],
             "checkpoint: peer head is entry_cross_linked"),
        ]
        for condition, message in checks:
            self.expect(condition, "relation: " + message)

    def check_as_export(self):
        """The valid vectors, laid out as an export (§8), must verify as sound."""
        lines = vectors_as_export(self.doc)
        ok, bad_line, reason = verify_export_lines(lines)
        self.expect(ok, "vectors as an export: line %s: %s" % (bad_line, reason))

    def run(self):
        self.check_keys_and_line()
        for name, (item_type, signer) in VALID_VECTORS.items():
            self.check_valid(name, item_type, signer)
        for name, category in INVALID_VECTORS.items():
            self.check_invalid(name, category)
        unknown = [k for k in self.doc if k.startswith("invalid_") and k not in INVALID_VECTORS]
        self.expect(not unknown, "invalid vectors with no known reason: %s" % unknown)
        self.check_relations()
        self.check_as_export()
        return self.failures


def vectors_as_export(doc):
    """Builds a JSON Lines export (§8) from the valid vectors: header, entries of the lower key,
    of the higher key, receipt, checkpoint."""
    keys = {name: bytes.fromhex(k["fingerprint"][4:]) for name, k in doc["keys"].items()}
    lower = min(keys.values())
    chains = {"alpha": ["entry_first", "entry_second"], "bravo": ["entry_cross_linked"]}
    order = sorted(chains, key=lambda n: keys[n] != lower)
    lines = [json.dumps({"type": "line", "line": doc["line"]["id"], "name": doc["line"]["name"],
                         "parties": [doc["keys"][n]["fingerprint"] for n in order]})]

    def item_line(name, item_type):
        item = parse_signed_item(item_type, bytes.fromhex(doc[name]["signed"]))
        seq = item.fields["own_seq" if item_type == "checkpoint" else "seq"]
        return json.dumps({"type": item_type, "line": doc["line"]["id"],
                           "author": fingerprint(item.signer), "seq": seq,
                           "signed": doc[name]["signed_base64"]})

    for owner in order:
        lines += [item_line(name, "entry") for name in chains[owner]]
    lines.append(item_line("receipt", "receipt"))
    lines.append(item_line("checkpoint", "checkpoint"))
    return lines


def verify_vectors_file(path):
    with open(path, encoding="utf-8") as handle:
        doc = json.load(handle)
    checker = VectorChecker(doc)
    return checker.run(), checker.passed


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------

def main(argv):
    if len(argv) != 3 or argv[1] not in ("vectors", "export"):
        print("usage: verify_record.py vectors FILE.json | export FILE.jsonl", file=sys.stderr)
        return 2
    if argv[1] == "vectors":
        failures, passed = verify_vectors_file(argv[2])
        for failure in failures:
            print("FAIL: %s" % failure)
        if failures:
            return 1
        print("vectors ok: %d checks" % passed)
        return 0
    lines = read_export_lines(argv[2])
    ok, bad_line, reason = verify_export_lines(lines)
    if not ok:
        print("BAD: line %d: %s" % (bad_line, reason))
        return 1
    print("sound: %s" % reason)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
