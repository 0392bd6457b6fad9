#!/usr/bin/env bash
# Seeds fuzz/corpus/decode/ from the golden vectors.
#
# Every `frame: <hex>` line of conformance/vectors/*.txt (whitespace may appear inside the hex) becomes one
# binary file fuzz/corpus/decode/<vector-file>-<n>; runs of up to four consecutive frames of one file become
# more seeds (<vector-file>-seq-<n>), so that multi-frame sequences (fragments) reach the reassembler. A few seeds of its own
# (valid v4 and v5 frames, a three-fragment v5 message, an encrypted frame) are always added, so the script
# never fails for want of vectors.
#
# Usage: fuzz/seed-corpus.sh [VECTORS_DIR] [CORPUS_DIR]
#   defaults: conformance/vectors  fuzz/corpus/decode  (relative to the repository root)
# Needs bash and python3 (standard library only).

set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vectors="${1:-$root/conformance/vectors}"
corpus="${2:-$root/fuzz/corpus/decode}"
mkdir -p "$corpus"

python3 - "$vectors" "$corpus" <<'PY'
import glob, os, re, struct, sys, zlib

vectors, corpus = sys.argv[1], sys.argv[2]
FRAME_LEN = 337
written = 0


def write(name, data):
    global written
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    with open(os.path.join(corpus, name), "wb") as f:
        f.write(data)
    written += 1


# The golden vectors.
files = sorted(glob.glob(os.path.join(vectors, "*.txt")))
frames_found = 0
for path in files:
    stem = os.path.splitext(os.path.basename(path))[0]
    frames = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            m = re.match(r"\s*frame\s*:(.*)$", line)
            if not m:
                continue
            digits = re.sub(r"\s+", "", m.group(1))
            if digits.lower().startswith("0x"):
                digits = digits[2:]
            try:
                data = bytes.fromhex(digits)
            except ValueError:
                print(f"seed-corpus: {path}:{lineno}: not hex, skipped", file=sys.stderr)
                continue
            frames.append(data)
            write(f"{stem}-{len(frames):03}", data)
    frames_found += len(frames)
    # Runs of consecutive frames (windows of 4, every 2 frames, so any run of 3 such as a fragmented
    # message lies whole in one window), kept short so that libFuzzer's default -max_len stays 4096.
    for start in range(0, max(len(frames) - 2, 0), 2):
        write(f"{stem}-seq-{start + 1:03}", b"".join(frames[start:start + 4]))

# Seeds of our own, built here so they do not depend on the vectors.
def frame(version, number, verb, frm, to, flags, text):
    name = lambda s: s.encode().ljust(32, b"\0")
    body = text.encode().ljust(256, b"\0")
    head = struct.pack("<II", number, version) + name(frm) + name(to) + struct.pack("<I", verb)
    if version == 4:
        checksum = sum(map(ord, text))
    else:
        checksum = zlib.crc32(head + b"\0\0\0\0" + bytes([flags]) + body)
    out = head + struct.pack("<I", checksum & 0xFFFFFFFF) + bytes([flags]) + body
    assert len(out) == FRAME_LEN
    return out


def rot13(text):
    return "".join(chr((ord(c) - 32 + 13) % 95 + 32) if 32 <= ord(c) <= 126 else c for c in text)


BROADCAST, PRIVATE, WHO, LOGIN = 1, 2, 3, 4
write("own-v5-broadcast", frame(5, 1, BROADCAST, "alice", "ALL", 0, "hello, everyone"))
write("own-v4-broadcast", frame(4, 0, BROADCAST, "alice", "ALL", 0, "hello, everyone"))
write("own-v4-nonascii", frame(4, 0, PRIVATE, "bob", "alice", 0, "héllo € 😀"))
write("own-v4-login", frame(4, 0, LOGIN, "carol", "server", 0, ""))
write("own-v5-encrypted", frame(5, 2, PRIVATE, "bob", "alice", 1, rot13("secret")))
write("own-v5-who", frame(5, 3, WHO, "bob", "server", 0, ""))
long = ("the quick brown fox jumps over the lazy dog " * 20)[:700]
pieces = [long[i:i + 256] for i in range(0, len(long), 256)]
write("own-v5-fragments", b"".join(
    frame(5, 10 + i, BROADCAST, "dave", "ALL", 2 if i < len(pieces) - 1 else 0, p)
    for i, p in enumerate(pieces)))
write("own-v5-fragments-encrypted", b"".join(
    frame(5, 20 + i, BROADCAST, "dave", "ALL", 3 if i < len(pieces) - 1 else 1, rot13(p))
    for i, p in enumerate(pieces)))

print(f"seed-corpus: {frames_found} frame(s) from {len(files)} vector file(s) in {vectors}; "
      f"{written} seed(s) written to {corpus}")
PY
