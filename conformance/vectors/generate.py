#!/usr/bin/env python3
"""Writes the chatproto conformance vectors: v4.txt, v5.txt, errors.txt and cipher.txt.

This is an independent implementation of the frame encoding (PROTOCOL.md §2, §3, §5), written from the
specification with nothing but the Python standard library (`struct` for the layout, `zlib` for CRC-32). It
shares no code with the Rust crate and never runs it: the vectors are the cross-check between the two.

Every vector is checked twice before it is written: the frame is built field by field, and a small reference
decoder (below, also written from the spec) must then give back exactly the declared fields or the declared
error. An error frame that would fail an earlier check than intended stops the script.

Usage: python3 conformance/vectors/generate.py   (writes next to this script; deterministic output)
See README.md in this directory for the file format.
"""

import json
import struct
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

# --- The frame (R-2.1) ------------------------------------------------------------------------------------

FRAME_LEN = 337
NAME_LEN = 32
TEXT_LEN = 256
# packet_number, version, from_name, to_name, verb, checksum, flags, text; little-endian, no padding.
LAYOUT = struct.Struct("<II32s32sIIB256s")
assert LAYOUT.size == FRAME_LEN
CHECKSUM_AT = 76
TEXT_AT = 81
# (name, offset, width), used to split frames into readable hex groups.
FIELDS = [
    ("packet_number", 0, 4),
    ("version", 4, 4),
    ("from_name", 8, 32),
    ("to_name", 40, 32),
    ("verb", 72, 4),
    ("checksum", 76, 4),
    ("flags", 80, 1),
    ("text", 81, 256),
]

# Table 4.1.
VERBS = {
    0: "ERROR",
    1: "BROADCAST",
    2: "PRIVATE_MESSAGE",
    3: "WHO",
    4: "LOGIN",
    5: "QUIT",
    6: "RESEND",
    7: "CONFIRM",
    8: "SHUTDOWN",
    16: "ROOM_CREATE",
    17: "ROOM_JOIN",
    18: "ROOM_LEAVE",
    19: "ROOM_LIST",
    20: "ROOM_MEMBERS",
    21: "ROOM_MESSAGE",
    22: "CHAT_INVITE",
    23: "CHAT_ACCEPT",
    24: "CHAT_DECLINE",
    25: "CHAT_END",
    26: "DELIVERED",
    27: "HISTORY_REQUEST",
    28: "HISTORY_REPLY",
    29: "REGISTER",
    30: "AUTH",
    31: "HELP",
    32: "PING",
}
VERB = {name: number for number, name in VERBS.items()}

ERROR_CLASSES = (
    "wrong-length",
    "unsupported-version",
    "checksum-mismatch",
    "reserved-flags",
    "invalid-utf8",
    "non-canonical-padding",
    "unknown-verb",
)
FIELD_NAMES = ("from_name", "to_name", "text")

ENCRYPTED = 0x01
MORE_FRAGMENTS = 0x02


# --- The cipher (R-5.1, R-5.2) ----------------------------------------------------------------------------


def encipher_byte(b):
    return (b - 32 + 13) % 95 + 32 if 32 <= b <= 126 else b


def decipher_byte(b):
    return (b - 32 + 82) % 95 + 32 if 32 <= b <= 126 else b


def encipher(data):
    return bytes(encipher_byte(b) for b in data)


def decipher(data):
    return bytes(decipher_byte(b) for b in data)


# --- Checksums (R-3.2, R-3.7) -----------------------------------------------------------------------------


def legacy_checksum(text_field):
    """v4: the sum of the code points of the text; only trailing NULs are padding (and add 0 anyway).
    Raises UnicodeDecodeError when the text is not UTF-8."""
    return sum(ord(c) for c in text_field.rstrip(b"\0").decode("utf-8"))


def crc32(frame):
    """v5: CRC-32 (zlib) of all 337 bytes with the checksum field zeroed."""
    zeroed = frame[:CHECKSUM_AT] + bytes(4) + frame[CHECKSUM_AT + 4 :]
    return zlib.crc32(zeroed) & 0xFFFFFFFF


# --- Building frames --------------------------------------------------------------------------------------


def pad(raw, width):
    assert len(raw) <= width, (raw, width)
    return raw + bytes(width - len(raw))


def pack(number, version, from_raw, to_raw, verb, checksum, flags, text_raw):
    """A frame from raw field bytes (which may be anything: invalid ones are how error frames are made)."""
    return LAYOUT.pack(
        number,
        version,
        pad(from_raw, NAME_LEN),
        pad(to_raw, NAME_LEN),
        verb,
        checksum,
        flags,
        pad(text_raw, TEXT_LEN),
    )


def version_of(frame):
    return struct.unpack_from("<I", frame, 4)[0]


def set_checksum(frame, value):
    return frame[:CHECKSUM_AT] + struct.pack("<I", value) + frame[CHECKSUM_AT + 4 :]


def seal(frame):
    """The frame with the checksum its dialect requires, so that the checksum check passes. A v4 frame whose
    text is not UTF-8 keeps its field: v4 checks the text's UTF-8 before the sum, so no value could pass.
    Frames of other versions get a CRC-32, which no decoder reaches."""
    if version_of(frame) == 4:
        try:
            return set_checksum(frame, legacy_checksum(frame[TEXT_AT:]))
        except UnicodeDecodeError:
            return frame
    return set_checksum(frame, crc32(frame))


def build(
    version=5,
    number=1,
    from_raw=b"alice",
    to_raw=b"bob",
    verb=2,
    flags=0,
    text_raw=b"hi bob",
):
    """A sealed frame, valid unless an argument makes it otherwise."""
    return seal(pack(number, version, from_raw, to_raw, verb, 0, flags, text_raw))


# --- Reference decoder: the check order of the spec -------------------------------------------------------


class Rejected(Exception):
    def __init__(self, cls, field=None):
        super().__init__(cls, field)
        self.cls = cls
        self.field = field


def canonical(raw, field):
    """R-3.8 (and R-3.5 for v4 names): content to the first NUL, then only NUL; then UTF-8."""
    end = raw.find(b"\0")
    if end < 0:
        end = len(raw)
    if any(raw[end:]):
        raise Rejected("non-canonical-padding", field)
    try:
        return raw[:end].decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected("invalid-utf8", field) from None


def decode(frame):
    if len(frame) != FRAME_LEN:
        raise Rejected("wrong-length")
    number, version, from_raw, to_raw, verb, checksum, flags, text_raw = LAYOUT.unpack(frame)
    if version == 5:
        if crc32(frame) != checksum:
            raise Rejected("checksum-mismatch")
        if flags & ~(ENCRYPTED | MORE_FRAGMENTS):
            raise Rejected("reserved-flags")
        sender = canonical(from_raw, "from_name")
        recipient = canonical(to_raw, "to_name")
        text = canonical(text_raw, "text")
    elif version == 4:
        try:
            text = text_raw.rstrip(b"\0").decode("utf-8")
        except UnicodeDecodeError:
            raise Rejected("invalid-utf8", "text") from None
        if sum(ord(c) for c in text) != checksum:
            raise Rejected("checksum-mismatch")
        if flags not in (0, 1):
            raise Rejected("reserved-flags")
        sender = canonical(from_raw, "from_name")
        recipient = canonical(to_raw, "to_name")
    else:
        # damage to the version field also makes an unknown version, so an unknown version is
        # believed only when the frame's CRC-32 (as in v5) holds.
        if crc32(frame) != checksum:
            raise Rejected("checksum-mismatch")
        raise Rejected("unsupported-version")
    if verb not in VERBS:
        raise Rejected("unknown-verb")
    return {
        "number": number,
        "version": version,
        "verb": VERBS[verb],
        "checksum": checksum,
        "flags": flags,
        "from": sender,
        "to": recipient,
        "text": text,
    }


# --- Vectors ----------------------------------------------------------------------------------------------

NAMES = set()


def claim(name):
    assert name not in NAMES, f"duplicate vector name {name}"
    assert name and not any(c.isspace() for c in name), name
    NAMES.add(name)


def ok(name, version, verb, sender, recipient, text, number=1, flags=0, comment=None):
    """An ok vector. `text` is the plain text; with the encrypted flag the frame carries it enciphered."""
    claim(name)
    plain = text.encode("utf-8")
    assert not plain.endswith(b"\0"), "content must not end in NUL (R-2.2)"
    wire = encipher(plain) if flags & ENCRYPTED else plain
    frame = build(version, number, sender.encode("utf-8"), recipient.encode("utf-8"), VERB[verb], flags, wire)
    fields = {
        "number": number,
        "version": version,
        "verb": verb,
        "checksum": struct.unpack_from("<I", frame, CHECKSUM_AT)[0],
        "flags": flags,
        "from": sender,
        "to": recipient,
        "text": wire.decode("utf-8"),
    }
    decoded = decode(frame)
    assert decoded == fields, (name, decoded, fields)
    record = {"comment": comment, "name": name, "frame": frame, "expect": "ok", **fields}
    if flags & ENCRYPTED:
        assert decipher(wire) == plain
        record["plain"] = text
    return record


def error(name, frame, cls, field=None, comment=None):
    """An error vector: the reference decoder must reject `frame` with exactly this class and field."""
    claim(name)
    assert cls in ERROR_CLASSES and (field is None or field in FIELD_NAMES)
    try:
        got = decode(frame)
    except Rejected as rejected:
        assert (rejected.cls, rejected.field) == (cls, field), (name, rejected.cls, rejected.field)
    else:
        raise AssertionError(f"{name}: decodes fine: {got}")
    return {"comment": comment, "name": name, "frame": frame, "expect": f"error {cls}", "field": field}


# --- Writing ----------------------------------------------------------------------------------------------


def json_string(s):
    # ASCII-only JSON: non-ASCII as \uXXXX (surrogate pairs above U+FFFF), NUL and controls escaped.
    return json.dumps(s, ensure_ascii=True)


def frame_hex(frame):
    """Hex split at field boundaries (for a 337-byte frame); the parser ignores the spaces."""
    groups = []
    for _, offset, width in FIELDS:
        group = frame[offset : offset + width]
        if group:
            groups.append(group.hex())
    if len(frame) > FRAME_LEN:
        groups.append(frame[FRAME_LEN:].hex())
    return " ".join(groups)


def render(record):
    lines = []
    if record.get("comment"):
        lines += ["# " + line if line else "#" for line in record["comment"].split("\n")]
    lines.append(f"name: {record['name']}")
    if "enciphered" in record:
        lines.append(f"plain: {record['plain'].hex()}")
        lines.append(f"enciphered: {record['enciphered'].hex()}")
        return lines
    lines.append(f"frame: {frame_hex(record['frame'])}")
    lines.append(f"expect: {record['expect']}")
    if record["expect"] == "ok":
        for key in ("number", "version", "verb", "checksum", "flags"):
            lines.append(f"{key}: {record[key]}")
        for key in ("from", "to", "text"):
            lines.append(f"{key}: {json_string(record[key])}")
        if "plain" in record:
            lines.append(f"plain: {json_string(record['plain'])}")
    elif record["field"]:
        lines.append(f"field: {record['field']}")
    return lines


def write(filename, header, records):
    out = ["# " + line if line else "#" for line in header.strip("\n").split("\n")]
    out.append("")
    for record in records:
        out += render(record)
        out.append("")
    text = "\n".join(out)
    assert text.isascii()
    (HERE / filename).write_text(text, encoding="ascii", newline="\n")
    print(f"{filename}: {len(records)} vectors")


# --- Content ----------------------------------------------------------------------------------------------

GENERATED = (
    "Generated by generate.py (an independent Python implementation); do not edit by hand.\n"
    "Format: see README.md in this directory."
)

# One realistic packet per verb (table 4.1): (verb, from, to, text). `{to}` marks where v4 names ALL.
PER_VERB = [
    ("ERROR", "server", "alice", "unknown verb 9"),
    ("BROADCAST", "alice", "ALL", "hello, everyone"),
    ("PRIVATE_MESSAGE", "alice", "bob", "hi bob, are you there?"),
    ("WHO", "alice", "{server}", ""),
    ("LOGIN", "alice", "{server}", "alice has connected."),
    ("QUIT", "alice", "ALL", "alice has disconnected."),
    ("RESEND", "server", "alice", ""),
    ("CONFIRM", "server", "alice", "1700000000123"),
    ("SHUTDOWN", "server", "ALL", "maintenance, back in 5 minutes"),
    ("ROOM_CREATE", "alice", "lobby", ""),
    ("ROOM_JOIN", "bob", "lobby", ""),
    ("ROOM_LEAVE", "bob", "lobby", ""),
    ("ROOM_LIST", "alice", "server", ""),
    ("ROOM_MEMBERS", "server", "alice", "alice\nbob"),
    ("ROOM_MESSAGE", "alice", "lobby", "good morning, lobby"),
    ("CHAT_INVITE", "alice", "bob", "want to chat?"),
    ("CHAT_ACCEPT", "bob", "alice", ""),
    ("CHAT_DECLINE", "carol", "alice", "busy right now"),
    ("CHAT_END", "bob", "alice", ""),
    ("DELIVERED", "bob", "alice", "7 1700000000456"),
    ("HISTORY_REQUEST", "alice", "server", "20"),
    ("HISTORY_REPLY", "bob", "alice", "1700000000789 see you at noon"),
    ("REGISTER", "dave", "server", "correct horse battery staple"),
    ("AUTH", "dave", "server", "correct horse battery staple"),
    ("HELP", "server", "alice", "/who\n/join <room>\n/quit"),
    ("PING", "alice", "server", ""),
]
assert sorted(VERB[v] for v, *_ in PER_VERB) == sorted(VERBS)


def slug(verb):
    return verb.lower().replace("_", "-")


# The devon LOGIN, worked out by hand from the spec before this script checked it (see DEVON_COMMENT).
DEVON_CHECKSUM_BY_HAND = 1913
DEVON_FRAME_BY_HAND = bytes.fromhex(
    # offset 0, packet_number 1; offset 4, version 4
    "01 00 00 00  04 00 00 00"
    # offset 8, from_name "devon" and 27 NULs
    " 64 65 76 6f 6e" + " 00" * 27
    # offset 40, to_name "ALL" and 29 NULs
    + " 41 4c 4c" + " 00" * 29
    # offset 72, verb 4 (LOGIN); offset 76, checksum 1913 = 0x779; offset 80, flags 0
    + " 04 00 00 00  79 07 00 00  00"
    # offset 81, text "devon has connected." (20 bytes) and 236 NULs
    + " 64 65 76 6f 6e 20 68 61 73 20 63 6f 6e 6e 65 63 74 65 64 2e" + " 00" * 236
)
assert len(DEVON_FRAME_BY_HAND) == FRAME_LEN

DEVON_COMMENT = """\
v4/login-devon, worked out by hand from PROTOCOL.md R-2.1 and R-3.2, then checked by generate.py.

Checksum: the sum of the code points of "devon has connected." (20 characters):
  char  code  running sum
  'd'   100   100
  'e'   101   201
  'v'   118   319
  'o'   111   430
  'n'   110   540
  ' '    32   572
  'h'   104   676
  'a'    97   773
  's'   115   888
  ' '    32   920
  'c'    99   1019
  'o'   111   1130
  'n'   110   1240
  'n'   110   1350
  'e'   101   1451
  'c'    99   1550
  't'   116   1666
  'e'   101   1767
  'd'   100   1867
  '.'    46   1913
  checksum = 1913 = 0x00000779, little-endian bytes 79 07 00 00

Frame, field by field (offset: bytes in hex):
    0 packet_number 1  : 01 00 00 00
    4 version 4        : 04 00 00 00
    8 from_name "devon": 64 65 76 6f 6e, then 27 x 00
   40 to_name "ALL"    : 41 4c 4c, then 29 x 00
   72 verb 4 (LOGIN)   : 04 00 00 00
   76 checksum 1913    : 79 07 00 00
   80 flags 0          : 00
   81 text             : 64 65 76 6f 6e 20 68 61 73 20 63 6f 6e 6e 65 63 74 65 64 2e, then 236 x 00
  337 bytes in all (4+4+32+32+4+4+1+256)."""


def v4_vectors():
    records = []
    devon = ok("v4/login-devon", 4, "LOGIN", "devon", "ALL", "devon has connected.", comment=DEVON_COMMENT)
    assert devon["checksum"] == DEVON_CHECKSUM_BY_HAND, devon["checksum"]
    assert devon["frame"] == DEVON_FRAME_BY_HAND, devon["frame"].hex()
    records.append(devon)
    # the original peers always send packet number 1.
    for verb, sender, recipient, text in PER_VERB:
        recipient = recipient.replace("{server}", "ALL")
        records.append(ok(f"v4/{slug(verb)}", 4, verb, sender, recipient, text))
    who_reply = "alice" + "\0" * 27 + ", " + "bob" + "\0" * 29 + ", " + "carol"
    records.append(
        ok(
            "v4/who-reply-interior-nuls",
            4,
            "WHO",
            "server",
            "alice",
            who_reply,
            comment="R-3.5: the original server's WHO reply joins NUL-padded names; interior NULs are text.",
        )
    )
    records.append(
        ok("v4/text-interior-nul", 4, "BROADCAST", "alice", "ALL", "a\0b", comment="Interior NUL kept: a\\0b.")
    )
    records.append(
        ok(
            "v4/text-leading-nuls",
            4,
            "BROADCAST",
            "alice",
            "ALL",
            "\0\0x",
            comment="Only trailing NULs are padding, so leading ones are text (and add 0 to the sum).",
        )
    )
    records.append(
        ok(
            "v4/encrypted-hello",
            4,
            "BROADCAST",
            "alice",
            "ALL",
            "hello",
            flags=ENCRYPTED,
            comment="Encrypted flag: hello is sent as uryy|; the checksum sums the enciphered text (R-5.3).",
        )
    )
    records.append(
        ok(
            "v4/encrypted-interior-nul",
            4,
            "PRIVATE_MESSAGE",
            "alice",
            "bob",
            "top\0secret ~",
            flags=ENCRYPTED,
            comment="The cipher leaves NUL alone, so interior NULs survive encryption.",
        )
    )
    records.append(
        ok(
            "v4/non-ascii",
            4,
            "PRIVATE_MESSAGE",
            "zo\u00eb",
            "J\u00f6rg",
            "gr\u00fc\u00df dich \u20ac \U0001F600",
            comment="Non-ASCII names and text: the checksum sums code points, not bytes.",
        )
    )
    records.append(
        ok("v4/empty", 4, "WHO", "", "", "", comment="Every string field empty: checksum 0.")
    )
    records.append(
        ok(
            "v4/full-width",
            4,
            "BROADCAST",
            "n" * NAME_LEN,
            "ALL",
            "0123456789abcdef" * 16,
            comment="A 32-byte name and a 256-byte text: no padding at all.",
        )
    )
    records.append(
        ok(
            "v4/packet-number-ignored",
            4,
            "BROADCAST",
            "alice",
            "ALL",
            "number is not 1",
            number=0xDEADBEEF,
            comment="R-3.4: v4 receivers ignore packet_number, but a decoder still reads it as sent.",
        )
    )
    return records


def v5_vectors():
    records = []
    for index, (verb, sender, recipient, text) in enumerate(PER_VERB, start=1):
        recipient = recipient.replace("{server}", "server")
        records.append(ok(f"v5/{slug(verb)}", 5, verb, sender, recipient, text, number=index))
    records.append(
        ok(
            "v5/login-devon",
            5,
            "LOGIN",
            "devon",
            "server",
            "",
            comment="The v5 counterpart of v4/login-devon: LOGIN goes to server, with empty text.",
        )
    )
    records.append(
        ok("v5/who-reply", 5, "WHO", "server", "alice", "alice\nbob\ncarol", number=2,
           comment="v5 lists are LF-separated (table 4.1); NULs are not allowed.")
    )
    records.append(
        ok("v5/encrypted-hello", 5, "BROADCAST", "alice", "ALL", "hello", number=3, flags=ENCRYPTED,
           comment="hello enciphered is uryy|; the CRC covers the enciphered bytes (R-5.3).")
    )
    records.append(
        ok("v5/encrypted-edges", 5, "PRIVATE_MESSAGE", "alice", "bob", " q r ~ {}|\\\"", number=4, flags=ENCRYPTED,
           comment="Enciphering space, q (no wrap), r (first to wrap), ~ and quote/backslash characters.")
    )
    records.append(
        ok("v5/encrypted-non-ascii", 5, "PRIVATE_MESSAGE", "zo\u00eb", "bob", "caf\u00e9 \u2615 ok", number=5,
           flags=ENCRYPTED, comment="Bytes of multi-byte characters pass through the cipher unchanged.")
    )
    first = "x" * (TEXT_LEN - 4) + "\u00e9\u00e9"  # exactly 256 bytes, ending on a character boundary
    records.append(
        ok("v5/fragment-first", 5, "BROADCAST", "alice", "ALL", first, number=10, flags=MORE_FRAGMENTS,
           comment="First fragment of a long message: 256 bytes of text, more-fragments flag (R-6.1).")
    )
    records.append(
        ok("v5/fragment-middle", 5, "BROADCAST", "alice", "ALL", "y" * TEXT_LEN, number=11, flags=MORE_FRAGMENTS)
    )
    records.append(
        ok("v5/fragment-last", 5, "BROADCAST", "alice", "ALL", "the end", number=12,
           comment="The last fragment has no more-fragments flag.")
    )
    records.append(
        ok("v5/fragment-encrypted", 5, "PRIVATE_MESSAGE", "alice", "bob", "secret " * 36 + "sec", number=13,
           flags=ENCRYPTED | MORE_FRAGMENTS, comment="Encrypted and more fragments: flags 3.")
    )
    records.append(
        ok("v5/non-ascii", 5, "ROOM_MESSAGE", "\u674e\u96f7", "caf\u00e9-r\u00e4ume",
           "\u3053\u3093\u306b\u3061\u306f \U0001F44B \u00a1hola!", number=6,
           comment="Non-ASCII names and text (one character outside the BMP: a JSON surrogate pair).")
    )
    records.append(
        ok("v5/json-escapes", 5, "BROADCAST", "alice", "ALL", "tab\there \"quoted\" back\\slash /\r\n\b\f\x01\x7f",
           number=7, comment="Text that needs JSON escapes in this file: control characters, quote, backslash.")
    )
    records.append(ok("v5/empty", 5, "WHO", "", "", "", number=1, comment="Every string field empty."))
    records.append(
        ok("v5/full-width", 5, "BROADCAST", "\u00e9" * 16, "ALL", "z" * TEXT_LEN, number=8,
           comment="A 32-byte name (16 two-byte characters) and a 256-byte text: no padding at all.")
    )
    records.append(
        ok("v5/max-packet-number", 5, "CONFIRM", "bob", "alice", "", number=0xFFFFFFFF,
           comment="packet_number 0xFFFFFFFF.")
    )
    return records


def error_vectors():
    records = []
    v5 = build(5)
    v4 = build(4, verb=VERB["BROADCAST"], to_raw=b"ALL", text_raw=b"hello")

    # Length, checked first.
    records.append(error("error/short-336", v5[:-1], "wrong-length", comment="A v5 frame missing its last byte."))
    records.append(error("error/long-338", v5 + b"\0", "wrong-length", comment="A v5 frame with one byte too many."))
    records.append(error("error/v4-short-336", v4[:-1], "wrong-length"))
    records.append(error("error/v4-long-338", v4 + b"\0", "wrong-length"))
    records.append(error("error/empty", b"", "wrong-length", comment="No bytes at all (an empty frame line)."))

    # Version.
    for version, label in ((0, "0"), (3, "3"), (6, "6"), (0xFFFFFFFF, "ffffffff")):
        records.append(error(f"error/version-{label}", build(version), "unsupported-version"))
    records.append(
        error("error/version-6-before-all-else", seal(pack(0, 6, b"\xff", b"x\0y", 99, 0, 0xFF, b"\xc3")),
              "unsupported-version",
              comment="An unknown version with a valid CRC-32 is refused before flags, fields and verb.")
    )

    # Checksum (R-3.2, R-3.7; for unknown versions).
    records.append(
        error("error/version-6-bad-crc", set_checksum(build(6), crc32(build(6)) ^ 1), "checksum-mismatch",
              comment="R-3.1: an unknown version whose CRC-32 does not match is damage, not a new version.")
    )
    records.append(
        error("error/version-4-damaged-to-6", build(4)[:4] + b"\x06" + build(4)[5:], "checksum-mismatch",
              comment="A v4 frame whose version byte was damaged into 6: its code-point sum is no CRC-32.")
    )
    records.append(
        error("error/v5-checksum-off-by-one", set_checksum(v5, crc32(v5) ^ 1), "checksum-mismatch")
    )
    records.append(
        error("error/v5-checksum-is-legacy-sum", set_checksum(v5, legacy_checksum(v5[TEXT_AT:])),
              "checksum-mismatch", comment="A v5 frame carrying the v4 code-point sum.")
    )
    records.append(
        error("error/v5-damaged-byte", v5[:10] + bytes([v5[10] ^ 0x20]) + v5[11:], "checksum-mismatch",
              comment="One bit flipped in from_name after the CRC was computed.")
    )
    records.append(
        error("error/v5-checksum-before-all-else",
              set_checksum(pack(1, 5, b"\xff", b"x\0y", 99, 0, 0xFF, b"\xc3"), 0), "checksum-mismatch",
              comment="v5: the CRC is checked before flags, fields and verb.")
    )
    records.append(
        error("error/v4-checksum-off-by-one", set_checksum(v4, legacy_checksum(v4[TEXT_AT:]) + 1),
              "checksum-mismatch")
    )
    records.append(
        error("error/v4-checksum-is-crc", set_checksum(v4, crc32(v4)), "checksum-mismatch",
              comment="A v4 frame carrying a CRC-32.")
    )
    records.append(
        error("error/v4-checksum-before-flags-names-verb",
              pack(1, 4, b"x\0y", b"\xff", 99, 0, 0xFF, b"hello"), "checksum-mismatch",
              comment="v4: the sum is checked after the text's UTF-8 but before flags, names and verb.")
    )

    # Reserved flags.
    for flags in (0x04, 0x80, 0xFF):
        records.append(error(f"error/v5-flags-{flags:02x}", build(5, flags=flags), "reserved-flags"))
    records.append(
        error("error/v5-flags-before-fields-verb", build(5, from_raw=b"\xff", to_raw=b"x\0y", verb=99, flags=0x07),
              "reserved-flags", comment="v5: flags are checked after the CRC, before the fields and the verb.")
    )
    for flags in (0x02, 0x03, 0x80):
        records.append(
            error(f"error/v4-flags-{flags:02x}", build(4, flags=flags), "reserved-flags",
                  comment="v4 flags are 0 or 1: more-fragments does not exist in v4." if flags == 0x02 else None)
        )
    records.append(
        error("error/v4-flags-before-names-verb", build(4, from_raw=b"\xff", to_raw=b"x\0y", verb=99, flags=0x02),
              "reserved-flags")
    )

    # Invalid UTF-8.
    bad = {
        "from_name": (b"\xffalice", "a byte that never occurs in UTF-8"),
        "to_name": (b"bob\xc3", "a two-byte sequence cut short"),
        "text": (b"caf\xc3\x28", "a lead byte followed by a non-continuation byte"),
    }
    for dialect in (5, 4):
        for field, (raw, why) in bad.items():
            kwargs = {{"from_name": "from_raw", "to_name": "to_raw", "text": "text_raw"}[field]: raw}
            records.append(
                error(f"error/v{dialect}-utf8-{field.replace('_', '-')}", build(dialect, **kwargs), "invalid-utf8",
                      field, comment=f"{field}: {why}.")
            )
    records.append(
        error("error/v5-utf8-surrogate", build(5, text_raw=b"\xed\xa0\x80"), "invalid-utf8", "text",
              comment="An encoded surrogate (U+D800) is not UTF-8.")
    )
    records.append(
        error("error/v5-utf8-overlong", build(5, from_raw=b"\xc0\xaf"), "invalid-utf8", "from_name",
              comment="An overlong encoding of '/' is not UTF-8.")
    )
    records.append(
        error("error/v5-utf8-cut-at-field-end", build(5, to_raw=b"a" * 31 + b"\xc3"), "invalid-utf8", "to_name",
              comment="A full-width field (no NUL) whose last character is cut off by the field's end.")
    )
    records.append(
        error("error/v5-utf8-above-max", build(5, text_raw=b"\xf4\x90\x80\x80"), "invalid-utf8", "text",
              comment="F4 90 80 80 would be U+110000, above the last code point.")
    )
    records.append(
        error("error/v4-utf8-text-before-checksum", set_checksum(build(4, text_raw=b"\xff\0a"), 12345),
              "invalid-utf8", "text", comment="v4 checks the text's UTF-8 before the sum (the sum is wrong too).")
    )
    records.append(
        error("error/v5-utf8-from-before-to", build(5, from_raw=b"\xff", to_raw=b"\xff"), "invalid-utf8",
              "from_name", comment="Fields are checked in order from_name, to_name, text.")
    )
    records.append(
        error("error/v5-utf8-from-before-to-padding", build(5, from_raw=b"\xff", to_raw=b"x\0y"),
              "invalid-utf8", "from_name",
              comment="Each field is checked whole (padding, then UTF-8) before the next field.")
    )

    # Non-canonical padding (R-3.8; for v4 names).
    records.append(error("error/v5-padding-from-name", build(5, from_raw=b"ann\0x"), "non-canonical-padding",
                         "from_name"))
    records.append(error("error/v5-padding-to-name", build(5, to_raw=b"bob" + bytes(28) + b"!"),
                         "non-canonical-padding", "to_name", comment="A stray byte in the field's last position."))
    records.append(error("error/v5-padding-text", build(5, text_raw=b"a\0b"), "non-canonical-padding", "text",
                         comment="v5 has no interior NULs: a\\0b is refused (compare v4/text-interior-nul)."))
    records.append(error("error/v5-padding-text-last-byte", build(5, text_raw=b"hi" + bytes(253) + b"\x01"),
                         "non-canonical-padding", "text"))
    records.append(error("error/v5-padding-leading-nul", build(5, from_raw=b"\0bob"), "non-canonical-padding",
                         "from_name", comment="Content that starts with NUL is empty; what follows must be NUL."))
    records.append(
        error("error/v5-padding-before-utf8", build(5, from_raw=b"\xff\0\xff"), "non-canonical-padding",
              "from_name", comment="Within a field, padding is checked before UTF-8.")
    )
    records.append(
        error("error/v5-padding-to-before-utf8-text", build(5, to_raw=b"x\0y", text_raw=b"\xff"),
              "non-canonical-padding", "to_name")
    )
    records.append(error("error/v4-padding-from-name", build(4, from_raw=b"ann\0x"), "non-canonical-padding",
                         "from_name", comment="v4 names: the first NUL ends the content, as in v5 (R-3.5)."))
    records.append(error("error/v4-padding-to-name", build(4, to_raw=b"\0ALL"), "non-canonical-padding",
                         "to_name"))

    # Unknown verbs, checked last. 9 to 15 are unassigned; 32 is PING, so 33 is the first
    # number after the table.
    for dialect in (5, 4):
        for verb, label in ((9, "9"), (15, "15"), (33, "33"), (0xFFFFFFFF, "ffffffff")):
            records.append(error(f"error/v{dialect}-verb-{label}", build(dialect, verb=verb), "unknown-verb"))
    records.append(error("error/v5-verb-256", build(5, verb=256), "unknown-verb",
                         comment="256 is 0 in the low byte: the verb is a whole u32."))
    return records


def cipher_vectors():
    records = []

    def vector(name, plain, comment=None):
        claim(name)
        enciphered = encipher(plain)
        assert decipher(enciphered) == plain
        return {"comment": comment, "name": name, "plain": plain, "enciphered": enciphered}

    # R-5.1's worked examples, as the spec states them.
    assert encipher(b"hello") == b"uryy|"
    assert [encipher_byte(b) for b in (113, 114, 126)] == [126, 32, 44]
    edges = [
        (31, "unit separator: below the range, unchanged"),
        (32, "space: first in range, becomes '-' (45)"),
        (113, "'q': the last that does not wrap, becomes '~' (126)"),
        (114, "'r': the first that wraps, becomes space (32)"),
        (126, "'~': last in range, wraps to ',' (44)"),
        (127, "DEL: above the range, unchanged"),
        (0, "NUL: unchanged"),
        (255, "0xFF: unchanged"),
    ]
    for b, why in edges:
        records.append(vector(f"cipher/byte-{b}", bytes([b]), f"{b} -> {encipher_byte(b)}: {why}."))
    records.append(vector("cipher/hello", b"hello", "R-5.1: hello -> uryy|."))
    records.append(vector("cipher/around-the-edges", bytes([31, 32, 33, 112, 113, 114, 115, 125, 126, 127]),
                          "Both ends of the range and their neighbours in one run."))
    records.append(vector("cipher/non-ascii", "h\u00e9llo w\u00f6rld \u20ac \U0001F600 \u674e".encode("utf-8"),
                          "Bytes of multi-byte UTF-8 characters (all >= 128) pass through unchanged."))
    records.append(vector("cipher/printable", bytes(range(32, 127)), "All 95 characters of the range, in order."))
    records.append(vector("cipher/all-bytes", bytes(range(256)), "Every byte value 0..=255, in order."))
    return records


def main():
    v4_header = "Version 4 (legacy) frames that decode: every verb, plus the edge cases of R-3.2 to R-3.5."
    v5_header = "Version 5 frames that decode: every verb, encryption, fragments, edge cases."
    errors_header = (
        "Frames every decoder must refuse, with the first check that fails.\n"
        "Each is built so that every earlier check passes (checksums are valid unless the checksum is the point)."
    )
    cipher_header = "The text cipher (R-5.1, R-5.2), byte by byte: plain and enciphered are hex."
    write("v4.txt", f"{GENERATED}\n\n{v4_header}", v4_vectors())
    write("v5.txt", f"{GENERATED}\n\n{v5_header}", v5_vectors())
    write("errors.txt", f"{GENERATED}\n\n{errors_header}", error_vectors())
    write("cipher.txt", f"{GENERATED}\n\n{cipher_header}", cipher_vectors())
    return 0


if __name__ == "__main__":
    sys.exit(main())
