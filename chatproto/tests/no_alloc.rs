//! The hot paths never touch the heap: a counting global allocator shows zero allocations for decoding,
//! encoding, the packet cipher and iterating fragments, in both dialects.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

use chatproto::cipher::{decrypt, encrypt};
use chatproto::{Dialect, Flags, Fragments, Packet, PacketView, Text};
use common::*;

/// Counts allocations per thread, so the test harness's other threads do not disturb a measurement.
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: the allocator also runs while thread-locals are being torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// How many allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

const ITERATIONS: usize = 1000;

/// Packets of both dialects with full-width, multi-byte and (v4) NUL-holding text, plain and encrypted.
fn packets() -> Vec<Packet> {
    let mut packets = Vec::new();
    for dialect in DIALECTS {
        let long = Text::new(&"é€x".repeat(42)).unwrap();
        packets.push(sample(dialect));
        packets.push(sample(dialect).with_text(long).unwrap());
        packets.push(encrypt(sample(dialect)));
    }
    packets.push(
        sample(Dialect::Legacy)
            .with_text(Text::legacy("who\0\0\0, bob").unwrap())
            .unwrap(),
    );
    packets.push(
        sample(Dialect::V5)
            .with_flags(Flags::MORE_FRAGMENTS)
            .unwrap(),
    );
    packets
}

#[test]
fn the_counter_sees_allocations() {
    assert_eq!(
        allocations(|| drop(black_box(Vec::<u8>::with_capacity(1)))),
        1
    );
    assert_eq!(allocations(|| drop(black_box(String::from("heap")))), 1);
    assert_eq!(allocations(|| drop(black_box(Vec::<u8>::new()))), 0);
}

#[test]
fn decoding_allocates_nothing() {
    let frames: Vec<[u8; FRAME_LEN]> = packets().iter().map(Packet::encode).collect();
    let mut damaged = frames[0];
    damaged[TEXT_AT] ^= 1;
    let n = allocations(|| {
        for _ in 0..ITERATIONS {
            for frame in &frames {
                let view = PacketView::decode(black_box(frame)).unwrap();
                black_box(view.text());
                black_box(Packet::decode(black_box(frame)).unwrap());
            }
            // The error paths too.
            black_box(Packet::decode(black_box(&damaged)).unwrap_err());
            black_box(PacketView::decode(black_box(&frames[0][..100])).unwrap_err());
        }
    });
    assert_eq!(n, 0);
}

#[test]
fn encoding_allocates_nothing() {
    let packets = packets();
    let n = allocations(|| {
        let mut frame = [0u8; FRAME_LEN];
        for _ in 0..ITERATIONS {
            for p in &packets {
                black_box(black_box(p).encode());
                black_box(p).encode_into(&mut frame);
                black_box(&frame);
            }
        }
    });
    assert_eq!(n, 0);
}

#[test]
fn the_packet_cipher_allocates_nothing() {
    let packets = packets();
    let n = allocations(|| {
        for _ in 0..ITERATIONS {
            for &p in &packets {
                black_box(decrypt(encrypt(black_box(p))));
            }
        }
    });
    assert_eq!(n, 0);
}

#[test]
fn iterating_fragments_allocates_nothing() {
    let message = "a long message with é and € and 😀 in it. ".repeat(100);
    let templates: Vec<Packet> = DIALECTS
        .iter()
        .flat_map(|&d| {
            [
                template(d),
                template(d).with_flags(Flags::ENCRYPTED).unwrap(),
            ]
        })
        .collect();
    let mut yielded = 0;
    let n = allocations(|| {
        for _ in 0..ITERATIONS / 10 {
            for &t in &templates {
                let fragments = Fragments::new(t, black_box(&message)).unwrap();
                black_box(fragments.len());
                for p in fragments {
                    black_box(p);
                    yielded += 1;
                }
            }
        }
    });
    assert_eq!(n, 0);
    // The loop did run: 4 templates × 100 rounds × several packets each.
    assert!(yielded >= 4 * (ITERATIONS / 10) * (message.len() / TEXT_LEN));
}
