//! Hostile frames: the conformance vectors (`conformance/vectors/*.txt`), valid frames built to order, and
//! seeded mutations of both. Every choice comes from one [`SplitMix64`], so a run replays from its seed.

use std::path::PathBuf;

use chatproto::sim::SplitMix64;
use chatproto::wire::layout::{
    CHECKSUM_AT, FLAGS_AT, FROM_AT, NAME_LEN, NUMBER_AT, TEXT_AT, TEXT_LEN, TO_AT, VERB_AT,
    VERSION_AT,
};
use chatproto::wire::{crc32, legacy_checksum};
use chatproto::{Dialect, Flags, Name, Packet, Text, Verb, FRAME_LEN};

/// Every `frame:` of the vector files, as bytes: valid frames of both dialects and every verb, and the
/// frames that must be refused (wrong lengths, checksums, flags, padding, UTF-8, verbs). The format is in
/// `conformance/vectors/README.md`: `key: value` lines, `#` comments, the frame in hex with spaces.
pub fn vector_frames() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance/vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .collect();
    files.sort();
    let mut frames = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines().filter(|line| !line.starts_with('#')) {
            let Some(("frame", value)) = line.split_once(':') else {
                continue;
            };
            let digits: Vec<u8> = value.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            let frame = digits
                .chunks(2)
                .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16))
                .collect::<Result<Vec<u8>, _>>()
                .unwrap_or_else(|e| panic!("{}: a frame that is not hex: {e}", path.display()));
            frames.push(frame);
        }
    }
    assert!(
        frames.len() >= 100,
        "only {} frames in {}",
        frames.len(),
        dir.display()
    );
    frames
}

/// A valid frame: `text` must fit one packet (256 bytes; in v5 no NUL).
pub fn frame(
    dialect: Dialect,
    number: u32,
    verb: Verb,
    from: &str,
    to: &str,
    flags: Flags,
    text: &str,
) -> [u8; FRAME_LEN] {
    let text = match dialect {
        Dialect::V5 => Text::new(text),
        Dialect::Legacy => Text::legacy(text),
    }
    .expect("text fits a packet");
    Packet::new(
        dialect,
        verb,
        Name::new(from).expect("from fits"),
        Name::new(to).expect("to fits"),
        text,
    )
    .expect("a valid packet")
    .with_number(number)
    .with_flags(flags)
    .expect("flags of the dialect")
    .encode()
}

/// LOGIN as `name`, in the form each dialect's clients send it.
pub fn login(dialect: Dialect, name: &str) -> [u8; FRAME_LEN] {
    match dialect {
        Dialect::V5 => frame(dialect, 1, Verb::LOGIN, name, "server", Flags::NONE, ""),
        Dialect::Legacy => frame(
            dialect,
            1,
            Verb::LOGIN,
            name,
            "ALL",
            Flags::NONE,
            &format!("{name} has connected."),
        ),
    }
}

/// Gives a 337-byte frame the checksum its version calls for: the code-point sum for v4
/// (when its text is UTF-8), CRC-32 otherwise (unknown versions too, R-3.1). Other lengths stay as they are.
pub fn reseal(frame: &mut [u8]) {
    let Ok(whole) = <&mut [u8; FRAME_LEN]>::try_from(frame) else {
        return;
    };
    let sum = if u32_at(whole, VERSION_AT) == 4 {
        let text = &whole[TEXT_AT..];
        let end = text
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |last| last + 1);
        match std::str::from_utf8(&text[..end]) {
            Ok(text) => legacy_checksum(text),
            Err(_) => return,
        }
    } else {
        crc32(whole)
    };
    whole[CHECKSUM_AT..CHECKSUM_AT + 4].copy_from_slice(&sum.to_le_bytes());
}

fn u32_at(frame: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(frame[at..at + 4].try_into().unwrap())
}

fn set_u32(frame: &mut [u8], at: usize, value: u32) {
    frame[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// Values that sit on an edge somewhere in a decoder.
const EDGE_U32: &[u32] = &[
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    8,
    15,
    16,
    32,
    33,
    255,
    256,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFE,
    0xFFFF_FFFF,
];
/// Bytes that break UTF-8, padding or names.
const EDGE_BYTES: &[u8] = &[
    0, 1, b'\t', b',', b' ', 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xF4, 0xFF,
];

/// The generator of hostile frames, one per connection script.
pub struct Hostile {
    rng: SplitMix64,
    vectors: Vec<Vec<u8>>,
    /// Users the hostile frames address besides the usual names: the normal clients of a test.
    victims: Vec<String>,
}

impl Hostile {
    pub fn new(seed: u64, vectors: Vec<Vec<u8>>) -> Hostile {
        Hostile {
            rng: SplitMix64::new(seed),
            vectors,
            victims: Vec::new(),
        }
    }

    /// The same, with these users among the recipients of its plausible frames: private messages, chat
    /// invitations and the like aimed at them.
    pub fn aiming_at(mut self, victims: &[&str]) -> Hostile {
        self.victims = victims.iter().map(|v| (*v).to_owned()).collect();
        self
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.rng.below(n)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.chance(p)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.below(items.len() as u64) as usize]
    }

    fn vector(&mut self) -> Vec<u8> {
        let at = self.rng.below(self.vectors.len() as u64) as usize;
        self.vectors[at].clone()
    }

    fn random_bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.rng.next_u64() as u8).collect()
    }

    /// A vector, mutated one to four times; given a matching checksum more often than not, so that what
    /// comes after the checksum check is reached too.
    pub fn mutated(&mut self) -> Vec<u8> {
        let mut frame = if self.chance(0.05) {
            let len = match self.below(4) {
                0 => FRAME_LEN,
                _ => self.below(2 * FRAME_LEN as u64) as usize,
            };
            self.random_bytes(len)
        } else {
            self.vector()
        };
        for _ in 0..=self.below(4) {
            self.mutate(&mut frame);
        }
        if self.chance(0.6) {
            reseal(&mut frame);
        }
        frame
    }

    fn mutate(&mut self, frame: &mut Vec<u8>) {
        let whole = frame.len() == FRAME_LEN;
        match self.below(12) {
            0 if !frame.is_empty() => {
                let at = self.below(frame.len() as u64) as usize;
                frame[at] ^= 1 << self.below(8);
            }
            1 if !frame.is_empty() => {
                let at = self.below(frame.len() as u64) as usize;
                frame[at] = *self.pick(EDGE_BYTES);
            }
            2 => {
                let len = self.below(frame.len() as u64 + 1) as usize;
                frame.truncate(len);
            }
            3 => {
                let extra = 1 + self.below(64) as usize;
                let bytes = self.random_bytes(extra);
                frame.extend(bytes);
            }
            4 => {
                // Splice: this frame's head on another vector's tail.
                let other = self.vector();
                let at = self.below(frame.len().min(other.len()) as u64 + 1) as usize;
                frame.truncate(at);
                frame.extend_from_slice(&other[at..]);
            }
            5 if whole => {
                let version = *self.pick(EDGE_U32);
                set_u32(frame, VERSION_AT, version);
            }
            6 if whole => {
                let verb = match self.below(3) {
                    0 => self.pick(Verb::ALL).to_u32(),
                    1 => 9 + self.below(7) as u32,
                    _ => *self.pick(EDGE_U32),
                };
                set_u32(frame, VERB_AT, verb);
            }
            7 if whole => frame[FLAGS_AT] = *self.pick(&[0, 1, 2, 3, 4, 0x80, 0xFF]),
            8 if whole => {
                let number = if self.chance(0.5) {
                    *self.pick(EDGE_U32)
                } else {
                    self.rng.next_u64() as u32
                };
                set_u32(frame, NUMBER_AT, number);
            }
            9 if whole => {
                let at = *self.pick(&[FROM_AT, TO_AT]);
                let name = self.hostile_field(NAME_LEN);
                frame[at..at + NAME_LEN].copy_from_slice(&name);
            }
            10 if whole => {
                let text = self.hostile_field(TEXT_LEN);
                frame[TEXT_AT..TEXT_AT + TEXT_LEN].copy_from_slice(&text);
            }
            _ if !frame.is_empty() => {
                // A run of one byte value over a random span: long names, runs of NULs, 0xFF fields.
                let at = self.below(frame.len() as u64) as usize;
                let len = (1 + self.below(64) as usize).min(frame.len() - at);
                let byte = *self.pick(EDGE_BYTES);
                frame[at..at + len].fill(byte);
            }
            _ => frame.extend(self.random_bytes(FRAME_LEN)),
        }
    }

    /// A field's bytes: reserved and full-width names, NUL inside content, broken UTF-8, random bytes.
    fn hostile_field(&mut self, width: usize) -> Vec<u8> {
        let content: Vec<u8> = match self.below(8) {
            0 => b"ALL".to_vec(),
            1 => b"server".to_vec(),
            2 => vec![b'a'; width],
            3 => b"a\0b".to_vec(),
            4 => vec![0xC3, 0x28, b'x'],
            5 => vec![0xF0, 0x9F, 0x98],
            6 => "\u{1F600}\u{7F}\t,".as_bytes().to_vec(),
            _ => {
                let len = self.below(width as u64 + 1) as usize;
                self.random_bytes(len)
            }
        };
        let mut field = vec![0; width];
        let len = content.len().min(width);
        field[..len].copy_from_slice(&content[..len]);
        field
    }

    /// A frame that decodes, from `from` (a hostile user's name), with the next packet number of its
    /// session, so that it gets past the session layer into the hub: any verb, any recipient.
    pub fn plausible(&mut self, dialect: Dialect, number: u32, from: &str) -> [u8; FRAME_LEN] {
        let verb = *self.pick(Verb::ALL);
        let to = *self.pick(&[
            "ALL", "server", "General", "room", "h1", "alice", "", "ALL,x",
        ]);
        let text = match self.below(6) {
            0 => String::new(),
            1 => "0".to_owned(),
            2 => "500".to_owned(),
            3 => "pw".to_owned(),
            4 => "x".repeat(TEXT_LEN),
            _ => format!("hostile {}", self.rng.next_u64()),
        };
        let flags = match dialect {
            Dialect::V5 if self.chance(0.2) => Flags::ENCRYPTED,
            _ => Flags::NONE,
        };
        frame(dialect, number, verb, from, to, flags, &text)
    }

    /// `count` fragments of one v5 BROADCAST from `from`, numbered from `first`, each with 256
    /// bytes of text; the last one ends the message only if `finish`.
    pub fn fragments(
        &mut self,
        from: &str,
        first: u32,
        count: u32,
        finish: bool,
    ) -> Vec<[u8; FRAME_LEN]> {
        let piece = "y".repeat(TEXT_LEN);
        (0..count)
            .map(|i| {
                let last = finish && i + 1 == count;
                let flags = if last {
                    Flags::NONE
                } else {
                    Flags::MORE_FRAGMENTS
                };
                frame(
                    Dialect::V5,
                    first.wrapping_add(i),
                    Verb::BROADCAST,
                    from,
                    "ALL",
                    flags,
                    &piece,
                )
            })
            .collect()
    }

    /// CONFIRM, RESEND or PING for numbers the server never used, with good checksums.
    pub fn control(&mut self, dialect: Dialect, from: &str) -> [u8; FRAME_LEN] {
        let verb = *self.pick(&[Verb::CONFIRM, Verb::RESEND, Verb::PING]);
        let number = if self.chance(0.5) {
            *self.pick(EDGE_U32)
        } else {
            self.rng.next_u64() as u32
        };
        frame(dialect, number, verb, from, "server", Flags::NONE, "")
    }

    /// What one hostile connection sends, in order: maybe a LOGIN as `name`, then a mix of mutated
    /// vectors, plausible frames in its name, runs of fragments (past the 64 KiB limit of, or never
    /// finished), and session frames for numbers never used.
    pub fn script(&mut self, name: &str) -> Vec<Vec<u8>> {
        let dialect = if self.chance(0.3) {
            Dialect::Legacy
        } else {
            Dialect::V5
        };
        let mut frames: Vec<Vec<u8>> = Vec::new();
        let mut number = 1u32;
        if self.chance(0.5) {
            frames.push(login(dialect, name).to_vec());
            number += 1;
        }
        for _ in 0..1 + self.below(120) {
            match self.below(20) {
                0..=10 => frames.push(self.mutated()),
                11..=16 => {
                    let mut frame = self.plausible(dialect, number, name).to_vec();
                    number = number.wrapping_add(1);
                    if self.chance(0.1) {
                        // Now and then damaged after the checksum: a RESEND, then nothing.
                        self.mutate(&mut frame);
                    }
                    frames.push(frame);
                }
                17 if dialect == Dialect::V5 => {
                    // Up to 300 fragments: past 64 KiB (256 of them) the message must be dropped.
                    let count = 1 + self.below(300) as u32;
                    let finish = self.chance(0.5);
                    for fragment in self.fragments(name, number, count, finish) {
                        frames.push(fragment.to_vec());
                    }
                    number = number.wrapping_add(count);
                }
                18 => {
                    // Far ahead of the receive window, or behind it: held or dropped.
                    let far = number.wrapping_add(*self.pick(EDGE_U32));
                    frames.push(self.plausible(dialect, far, name).to_vec());
                }
                _ => frames.push(self.control(dialect, name).to_vec()),
            }
        }
        frames
    }
}
