#!/usr/bin/python3
"""Builds synthetic Hotline exports with PyNaCl, following docs/record-format.md (§n).

Test-side helper for test_verify_record.py: it has its own deterministic-CBOR *encoder* and
JSON layout, independent of the verifier's decoder, so that the two check each other.
"""

import base64
import hashlib
import json

import nacl.signing

ZERO32 = bytes(32)
CONTEXTS = {"entry": b"hotline/v1/entry", "receipt": b"hotline/v1/receipt",
            "checkpoint": b"hotline/v1/checkpoint"}


# --- §1 deterministic CBOR encoder ------------------------------------------------------------

def cbor_head(major: int, argument: int) -> bytes:
    """Shortest head for (major, argument)."""
    if argument < 24:
        return bytes([major << 5 | argument])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if argument < 1 << (8 * size):
            return bytes([major << 5 | info]) + argument.to_bytes(size, "big")
    raise ValueError("integer too large")


def cbor_encode(value) -> bytes:
    if value is False:
        return b"\xf4"
    if value is True:
        return b"\xf5"
    if value is None:
        return b"\xf6"
    if isinstance(value, int):
        return cbor_head(0, value) if value >= 0 else cbor_head(1, -1 - value)
    if isinstance(value, bytes):
        return cbor_head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return cbor_head(3, len(raw)) + raw
    if isinstance(value, (list, tuple)):
        return cbor_head(4, len(value)) + b"".join(cbor_encode(v) for v in value)
    if isinstance(value, dict):
        pairs = sorted((cbor_encode(k), cbor_encode(v)) for k, v in value.items())
        return cbor_head(5, len(pairs)) + b"".join(k + v for k, v in pairs)
    raise TypeError(type(value))


# --- keys, items -------------------------------------------------------------------------------

class Party:
    def __init__(self, seed_byte: int):
        self.signing_key = nacl.signing.SigningKey(bytes([seed_byte]) * 32)
        self.public = bytes(self.signing_key.verify_key)
        self.fingerprint = "hl1:" + self.public.hex()


def line_id(a: bytes, b: bytes, name: str) -> bytes:
    low, high = sorted((a, b))
    return hashlib.sha256(low + high + name.encode("utf-8")).digest()[:16]


def sign_item(party: Party, item_type: str, payload_map: dict) -> bytes:
    """§2: [payload, Ed25519(context || 0x00 || payload)]."""
    payload = cbor_encode(payload_map)
    signature = party.signing_key.sign(CONTEXTS[item_type] + b"\x00" + payload).signature
    return cbor_encode([payload, signature])


def body_json(value):
    """§8: map keys become strings, byte strings become {"base64": ...}."""
    if isinstance(value, dict):
        return {str(k): body_json(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    if isinstance(value, (list, tuple)):
        return [body_json(v) for v in value]
    return value


class Signed:
    def __init__(self, item_type, signer, fields, signed):
        self.type, self.signer, self.fields, self.signed = item_type, signer, fields, signed
        self.hash = hashlib.sha256(signed).digest()


class LineSim:
    """A line between two parties where every entry is delivered at once; `tweak` hooks change
    fields before signing so that tests can build records that break exactly one rule."""

    def __init__(self, name, a: Party, b: Party, time0=1_700_000_000_000_000):
        self.name, self.parties = name, (a, b)
        self.id = line_id(a.public, b.public, name)
        self.chains = {a.public: [], b.public: []}
        self.receipts, self.checkpoints = [], []
        self.clock = time0

    def _tick(self):
        self.clock += 1000
        return self.clock

    def other(self, party):
        return self.parties[1] if party is self.parties[0] else self.parties[0]

    def add_entry(self, author: Party, body, kind="message", tweak=None):
        chain = self.chains[author.public]
        peer_chain = self.chains[self.other(author).public]
        f = {1: 1, 2: self.id, 3: author.public, 4: len(chain) + 1,
             5: chain[-1].hash if chain else ZERO32, 6: self._tick(),
             7: len(peer_chain), 8: peer_chain[-1].hash if peer_chain else ZERO32,
             9: kind, 10: body}
        if tweak:
            tweak(f)
        item = Signed("entry", author, f, sign_item(author, "entry", f))
        chain.append(item)
        return item

    def add_receipt(self, signer: Party, seq=None, tweak=None):
        """`signer` acknowledges the other party's chain up to `seq` (default: all of it)."""
        chain = self.chains[self.other(signer).public]
        seq = len(chain) if seq is None else seq
        f = {1: 1, 2: self.id, 3: signer.public, 4: self.other(signer).public, 5: seq,
             6: chain[seq - 1].hash if seq else ZERO32, 7: self._tick()}
        if tweak:
            tweak(f)
        item = Signed("receipt", signer, f, sign_item(signer, "receipt", f))
        self.receipts.append(item)
        return item

    def add_checkpoint(self, signer: Party, tweak=None):
        own, peer = self.chains[signer.public], self.chains[self.other(signer).public]
        f = {1: 1, 2: self.id, 3: signer.public, 4: len(own), 5: own[-1].hash if own else ZERO32,
             6: len(peer), 7: peer[-1].hash if peer else ZERO32, 8: self._tick()}
        if tweak:
            tweak(f)
        item = Signed("checkpoint", signer, f, sign_item(signer, "checkpoint", f))
        self.checkpoints.append(item)
        return item

    # --- §8 export ------------------------------------------------------------------------

    def item_json(self, item: Signed) -> dict:
        f = item.fields
        common = {"type": item.type, "line": f[2].hex(), "author": item.signer.fingerprint,
                  "signed": base64.b64encode(item.signed).decode()}
        if item.type == "entry":
            common.update(seq=f[4], hash=item.hash.hex(), prev=f[5].hex(), time=f[6],
                          cross_seq=f[7], cross_hash=f[8].hex(), kind=f[9], body=body_json(f[10]))
        elif item.type == "receipt":
            common.update(seq=f[5], chain="hl1:" + f[4].hex(), hash=f[6].hex(), time=f[7])
        else:
            common.update(seq=f[4], own_seq=f[4], own_hash=f[5].hex(), peer_seq=f[6],
                          peer_hash=f[7].hex(), time=f[8])
        return common

    def export_objects(self, withhold=None):
        """Header, entries of the lower key, of the other party, receipts, checkpoints.
        `withhold` = {public key: n}: the last n entries of that chain are left out."""
        withhold = withhold or {}
        ordered = sorted(self.parties, key=lambda p: p.public)
        objects = [{"type": "line", "line": self.id.hex(), "name": self.name,
                    "parties": [p.fingerprint for p in ordered]}]
        for party in ordered:
            chain = self.chains[party.public]
            keep = len(chain) - withhold.get(party.public, 0)
            objects += [self.item_json(e) for e in chain[:keep]]
        objects += [self.item_json(r) for r in self.receipts]
        objects += [self.item_json(c) for c in self.checkpoints]
        return objects


def dumps(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


ALPHA, BRAVO, CHARLIE = Party(1), Party(2), Party(3)


def main_line(entries=24):
    """alpha and bravo, interleaved; receipts both ways; checkpoints; bravo's last two entries
    not yet delivered to alpha (its final checkpoint claims them: unconfirmed)."""
    sim = LineSim("defence-ministers", ALPHA, BRAVO)
    for n in range(entries):
        author = ALPHA if n % 3 != 2 else BRAVO
        sim.add_entry(author, {1: "message %d" % n})
        sim.add_receipt(sim.other(author))
        if n % 8 == 7:
            sim.add_checkpoint(ALPHA)
            sim.add_checkpoint(BRAVO)
    return sim


def build_export(entries=24):
    """A sound two-line export of station alpha, as a list of JSON lines."""
    sim = main_line(entries)
    sim.add_entry(BRAVO, {1: "in flight 1"})
    sim.add_entry(BRAVO, {1: "in flight 2"})
    sim.add_checkpoint(BRAVO)  # its own head lies beyond alpha's copy: unconfirmed (§7)
    lines = [dumps(o) for o in sim.export_objects(withhold={BRAVO.public: 2})]
    # A second line: a Unicode name, other kinds and bodies, a silent peer (seq 0 heads).
    sim2 = LineSim("défense ✓", ALPHA, CHARLIE, time0=1_700_000_100_000_000)
    sim2.add_entry(ALPHA, {1: "x", 2: b"\x00\xff", 3: [-5, True, None, 2 ** 40],
                           "k": {"nested": False}}, kind="note-2")
    sim2.add_entry(ALPHA, [], kind="empty")
    sim2.add_entry(ALPHA, {1: "third"})
    sim2.add_receipt(CHARLIE)
    sim2.add_checkpoint(ALPHA)
    lines += [dumps(o) for o in sim2.export_objects()]
    return lines


if __name__ == "__main__":
    print("\n".join(build_export()))
