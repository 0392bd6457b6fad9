//! Per-frame cost of decoding (with verification) and encoding, against the floor of touching a frame at
//! all: copying its 337 bytes plus one CRC-32 over them.
//!
//! `cargo bench -p chatproto` runs the criterion benchmarks (kept short, about a second each), then times
//! every operation again in this same process, the fastest of 21 batches of 100 000 frames (the median is
//! shown too), and prints a table of ns/frame and the ratio to the floor measured in that run. The goal is
//! at most 1.5 × floor for decode+verify and encode with ASCII text; a 256-byte non-ASCII text is shown
//! for information.
//!
//! Criterion options go to this target only (`-p chatproto` alone would hand them to the unit-test harness
//! too, which refuses them): `cargo bench -p chatproto --bench codec -- --quick`, or a filter such as
//! `-- v5`. The summary table is always printed in full.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chatproto::{Dialect, Name, Packet, PacketView, Text, Verb, FRAME_LEN};
use criterion::Criterion;

/// The ratio the codec should stay within.
const GOAL: f64 = 1.5;
/// The summary table: batches per operation and frames per batch.
const BATCHES: usize = 21;
const BATCH: u32 = 100_000;

/// A realistic chat line: 60 bytes of ASCII.
const SHORT: &str = "Hey all, the build is green again; deploying at 3pm, ok? :-)";

/// One packet to measure, with its frame.
struct Case {
    label: String,
    /// Whether the 1.5 × floor goal applies (ASCII text); the UTF-8 case is shown for information.
    in_goal: bool,
    packet: Packet,
    frame: [u8; FRAME_LEN],
}

fn cases() -> Vec<Case> {
    assert_eq!(SHORT.len(), 60);
    let full_ascii: String = "The quick brown fox jumps over the lazy dog. "
        .chars()
        .cycle()
        .take(256)
        .collect();
    // 2-, 3- and 4-byte characters mixed with ASCII: the v4 code-point sum's slow path.
    let full_utf8: String = "héllo wörld € 😀 "
        .chars()
        .cycle()
        .scan(0, |len, c| {
            *len += c.len_utf8();
            (*len <= 256).then_some(c)
        })
        .collect();
    let texts = [
        ("60 B text".to_owned(), SHORT.to_owned(), true),
        ("256 B text".to_owned(), full_ascii, true),
        (
            format!("{} B UTF-8 text", full_utf8.len()),
            full_utf8,
            false,
        ),
    ];
    let mut cases = Vec::new();
    for (dialect, tag) in [(Dialect::V5, "v5"), (Dialect::Legacy, "v4")] {
        for (what, text, in_goal) in &texts {
            let packet = Packet::new(
                dialect,
                Verb::BROADCAST,
                Name::new("alice").expect("name"),
                Name::ALL,
                Text::new(text).expect("text fits"),
            )
            .expect("valid packet")
            .with_number(4242);
            let frame = packet.encode();
            assert_eq!(Packet::decode(&frame).as_ref(), Ok(&packet));
            cases.push(Case {
                label: format!("{tag} ({what})"),
                in_goal: *in_goal,
                packet,
                frame,
            });
        }
    }
    cases
}

// The operations, each on black-boxed input with a black-boxed result, shared by criterion and the table.

fn floor(frame: &[u8; FRAME_LEN]) -> u32 {
    let mut copy = [0u8; FRAME_LEN];
    copy.copy_from_slice(black_box(frame));
    crc32fast::hash(black_box(&copy))
}

fn memcpy(frame: &[u8; FRAME_LEN]) {
    let mut copy = [0u8; FRAME_LEN];
    copy.copy_from_slice(black_box(frame));
    black_box(&copy);
}

fn crc(frame: &[u8; FRAME_LEN]) -> u32 {
    crc32fast::hash(black_box(frame))
}

fn decode_view(frame: &[u8; FRAME_LEN]) -> bool {
    // `is_ok` alone would let the compiler drop work; the view itself goes through black_box.
    black_box(PacketView::decode(black_box(frame.as_slice()))).is_ok()
}

fn decode_packet(frame: &[u8; FRAME_LEN]) -> bool {
    black_box(Packet::decode(black_box(frame.as_slice()))).is_ok()
}

fn encode_into(packet: &Packet, out: &mut [u8; FRAME_LEN]) {
    black_box(packet).encode_into(out);
    black_box(out);
}

fn criterion_benches(c: &mut Criterion, cases: &[Case]) {
    let frame = cases[0].frame;
    let mut group = c.benchmark_group("floor");
    group.bench_function("memcpy 337 B + crc32fast::hash 337 B", |b| {
        b.iter(|| floor(&frame))
    });
    group.bench_function("memcpy 337 B", |b| b.iter(|| memcpy(&frame)));
    group.bench_function("crc32fast::hash 337 B", |b| b.iter(|| crc(&frame)));
    group.finish();

    for case in cases {
        let mut group = c.benchmark_group(&case.label);
        group.bench_function("decode+verify PacketView", |b| {
            b.iter(|| decode_view(&case.frame))
        });
        group.bench_function("decode+verify Packet", |b| {
            b.iter(|| decode_packet(&case.frame))
        });
        let mut out = [0u8; FRAME_LEN];
        group.bench_function("encode_into", |b| {
            b.iter(|| encode_into(&case.packet, &mut out))
        });
        group.finish();
    }
}

/// ns per call of `op` over `BATCHES` batches of `BATCH` calls: the fastest batch, which is what the table
/// and its ratios use (other processes on the machine can only make a batch slower), and the median.
#[derive(Clone, Copy)]
struct Timing {
    best: f64,
    median: f64,
}

fn time_ns(mut op: impl FnMut()) -> Timing {
    for _ in 0..BATCH / 4 {
        op();
    }
    let mut samples: Vec<f64> = (0..BATCHES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..BATCH {
                op();
            }
            start.elapsed().as_secs_f64() * 1e9 / f64::from(BATCH)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    Timing {
        best: samples[0],
        median: samples[BATCHES / 2],
    }
}

fn summary(cases: &[Case]) {
    let frame = cases[0].frame;
    let floor_t = time_ns(|| {
        black_box(floor(&frame));
    });
    let memcpy_t = time_ns(|| memcpy(&frame));
    let crc_t = time_ns(|| {
        black_box(crc(&frame));
    });
    let floor_ns = floor_t.best;

    println!();
    println!(
        "Summary: fastest of {BATCHES} batches of {BATCH} frames (median in brackets), \
         goal ≤ {GOAL} × floor"
    );
    println!(
        "floor = memcpy 337 B + crc32fast::hash 337 B: {floor_ns:.1} ns/frame [{:.1}] \
         (memcpy alone {:.1} ns, crc32fast::hash alone {:.1} ns)",
        floor_t.median, memcpy_t.best, crc_t.best
    );
    let mut misses = Vec::new();
    for case in cases {
        let mut out = [0u8; FRAME_LEN];
        let rows = [
            (
                "decode+verify",
                time_ns(|| {
                    black_box(decode_view(&case.frame));
                }),
            ),
            (
                "decode+verify to Packet",
                time_ns(|| {
                    black_box(decode_packet(&case.frame));
                }),
            ),
            (
                "encode_into",
                time_ns(|| encode_into(&case.packet, &mut out)),
            ),
        ];
        let (tag, what) = case.label.split_once(' ').unwrap_or((&case.label, ""));
        for (op, t) in rows {
            let (ns, ratio) = (t.best, t.best / floor_ns);
            let mark = match (case.in_goal, ratio <= GOAL) {
                (false, _) => "  (for information: non-ASCII text)",
                (true, true) => "",
                (true, false) => "  <-- over goal",
            };
            println!(
                "{tag} {op} {what}: {ns:.1} ns/frame = {ratio:.2} × floor ({floor_ns:.1} ns) \
                 [{:.1}]{mark}",
                t.median
            );
            if case.in_goal && ratio > GOAL {
                misses.push(format!("{tag} {op} {what}"));
            }
        }
    }
    if misses.is_empty() {
        println!("All ASCII cases within {GOAL} × floor.");
    } else {
        println!("Over {GOAL} × floor: {}", misses.join(", "));
    }
}

fn main() {
    let cases = cases();
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(30)
        .configure_from_args();
    criterion_benches(&mut criterion, &cases);
    criterion.final_summary();

    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and only wants a smoke run.
    if std::env::args().any(|arg| arg == "--bench") {
        summary(&cases);
    }
}
