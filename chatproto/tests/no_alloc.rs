//! The hot paths never touch the heap: a counting global allocator shows zero allocations for decoding,
//! encoding, the packet cipher and iterating fragments, in both dialects, and for relaying a shared message
//! through a session once its buffers have grown. Through a session's task, a burst of messages costs a
//! few allocations however many messages it holds.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use chatproto::cipher::{decrypt, encrypt};
use chatproto::session::{Confirmations, Role, Session, SessionConfig, SharedMessage};
use chatproto::transport::{
    FrameBatch, FrameReader, FrameWriter, Incoming, SessionTransport, Transport, TransportError,
};
use chatproto::{Dialect, Flags, Fragments, Message, Name, Packet, PacketView, Text, Verb};
use common::*;
use tokio::sync::Notify;

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

/// A message to relay, `fragments` frames long.
fn shared_message(fragments: usize, i: usize) -> SharedMessage {
    let mut text = format!("message {i} ");
    while text.len() <= (fragments - 1) * TEXT_LEN {
        text.push_str("and é more ");
    }
    let from = Name::new("ann").unwrap();
    SharedMessage::new(Message::new(Verb::BROADCAST, from, Name::ALL, text))
}

/// The CONFIRM a client answers packet `number` with.
fn confirm(number: u32) -> [u8; FRAME_LEN] {
    let client = Name::new("bob").unwrap();
    Packet::new(
        Dialect::V5,
        Verb::CONFIRM,
        client,
        Name::SERVER,
        Text::EMPTY,
    )
    .unwrap()
    .with_number(number)
    .encode()
}

/// Relays `message` through every session as a server does: queue it, take the frames to write, and take
/// the client's confirmation of each.
fn relay(sessions: &mut [Session], message: &SharedMessage, now: Instant) {
    for session in sessions {
        let last = session.send_shared(message, Confirmations::Report).unwrap();
        let mut numbers = 0..0;
        while let Some(frame) = session.poll_transmit(now) {
            black_box(&frame);
            numbers = numbers.start.min(last)..last + 1;
        }
        for number in last + 1 - message.frames(Dialect::V5).unwrap().len() as u32..=last {
            session.handle_frame(now, &confirm(number));
        }
        while let Some(event) = session.poll_event() {
            black_box(event);
        }
        black_box(numbers);
    }
}

#[test]
fn relaying_a_shared_message_allocates_nothing_per_session() {
    let now = Instant::now();
    let config = SessionConfig::default();
    let mut sessions: Vec<Session> = (0..100)
        .map(|_| Session::new(Role::Server, Some(Dialect::V5), config.clone(), now))
        .collect();
    for fragments in [1, 3] {
        // The sessions' buffers grow to what relaying needs; after that they are reused.
        for i in 0..10 {
            relay(&mut sessions, &shared_message(fragments, i), now);
        }
        let messages: Vec<SharedMessage> = (0..10).map(|i| shared_message(fragments, i)).collect();
        // Encoding is once per message, not per session; it is done here, outside the count.
        for message in &messages {
            message.frames(Dialect::V5).unwrap();
        }
        let n = allocations(|| {
            for message in &messages {
                relay(&mut sessions, message, now);
            }
        });
        assert_eq!(n, 0, "{fragments}-frame messages to 100 sessions");
    }
    // And the count does see the one encoding of a new message.
    let fresh = shared_message(1, 0);
    assert!(allocations(|| relay(&mut sessions[..1], &fresh, now)) > 0);
}

/// Frames written by a session's task, and the confirmations its peer sends back for each data packet.
#[derive(Default)]
struct LoopbackPeer {
    /// Numbers to confirm, and data frames written.
    state: Mutex<(VecDeque<u32>, usize)>,
    wrote: Notify,
}

struct PeerReader(Arc<LoopbackPeer>);
struct PeerWriter(Arc<LoopbackPeer>);

#[async_trait]
impl FrameWriter for PeerWriter {
    async fn write(&mut self, frames: &[[u8; FRAME_LEN]]) -> Result<(), TransportError> {
        {
            let mut state = self.0.state.lock().unwrap();
            for frame in frames {
                let packet = Packet::decode(frame).unwrap();
                if packet.verb() != Verb::CONFIRM {
                    state.0.push_back(packet.number());
                    state.1 += 1;
                }
            }
        }
        self.0.wrote.notify_one();
        Ok(())
    }
}

#[async_trait]
impl FrameReader for PeerReader {
    async fn read(&mut self, batch: &mut FrameBatch) -> Result<bool, TransportError> {
        loop {
            {
                let mut state = self.0.state.lock().unwrap();
                while let Some(number) = state.0.pop_front() {
                    batch.push(&confirm(number));
                }
            }
            if !batch.is_empty() {
                return Ok(true);
            }
            self.0.wrote.notified().await;
        }
    }
}

/// Sends `bursts` bursts of `size` messages through `transport` with `send_batch`, taking the
/// confirmations as they come, and returns the allocations made on this thread (where the session's task
/// runs too).
async fn send_bursts(
    transport: &mut SessionTransport,
    messages: &[Arc<SharedMessage>],
    bursts: usize,
    size: usize,
) -> usize {
    let mut burst = Vec::with_capacity(size);
    let mut numbers = Vec::with_capacity(size);
    let mut incoming = Vec::with_capacity(size);
    let mut total = 0;
    for round in 0..bursts {
        burst.extend(messages.iter().cycle().skip(round).take(size).cloned());
        let before = ALLOCATIONS.with(Cell::get);
        transport
            .send_batch(&mut burst, &mut numbers)
            .await
            .unwrap();
        let last = *numbers.last().unwrap();
        // Confirmations of the burst's last message and those before it.
        while !incoming.contains(&Incoming::Confirmed(last)) {
            incoming.clear();
            assert!(transport.recv_many(&mut incoming, size).await.unwrap() > 0);
        }
        incoming.clear();
        total += ALLOCATIONS.with(Cell::get) - before;
        numbers.clear();
    }
    total
}

/// Allocations a burst may cost through a session's task: the command's reply channel and the boxed
/// futures of the calls on each side, and buffers sized to a large burst, allocated for it at once.
const PER_BURST: usize = 16;

/// Relays `bursts` bursts of `size` messages through `transport`, waiting after each until the session has
/// written them all, and returns the allocations made on this thread.
async fn relay_bursts(
    transport: &mut SessionTransport,
    peer: &LoopbackPeer,
    messages: &[Arc<SharedMessage>],
    bursts: usize,
    size: usize,
) -> usize {
    let mut burst = Vec::with_capacity(size);
    let mut total = 0;
    for round in 0..bursts {
        burst.extend(messages.iter().cycle().skip(round).take(size).cloned());
        let target = peer.state.lock().unwrap().1 + size;
        let before = ALLOCATIONS.with(Cell::get);
        transport.relay(&mut burst).await.unwrap();
        // The session's task runs on this thread too; bounded, so that a lost frame fails, not hangs.
        for _ in 0..100_000 {
            if peer.state.lock().unwrap().1 >= target {
                break;
            }
            tokio::task::yield_now().await;
        }
        total += ALLOCATIONS.with(Cell::get) - before;
        assert!(
            peer.state.lock().unwrap().1 >= target,
            "the relayed burst was not written"
        );
    }
    total
}

#[test]
fn a_burst_through_a_session_task_costs_a_few_allocations_not_one_per_message() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let peer = Arc::new(LoopbackPeer::default());
    let now = tokio::time::Instant::now().into_std();
    let session = Session::new(
        Role::Server,
        Some(Dialect::V5),
        SessionConfig::stream(),
        now,
    );
    let messages: Vec<Arc<SharedMessage>> =
        (0..8).map(|i| Arc::new(shared_message(1, i))).collect();
    let (small, large, relayed) = runtime.block_on(async {
        let mut transport = SessionTransport::spawn(
            session,
            PeerReader(peer.clone()),
            PeerWriter(peer.clone()),
            None,
        );
        // Warm up: every buffer on the way grows to the largest burst.
        send_bursts(&mut transport, &messages, 20, 100).await;
        let small = send_bursts(&mut transport, &messages, 20, 10).await;
        let large = send_bursts(&mut transport, &messages, 20, 100).await;
        let relayed = relay_bursts(&mut transport, &peer, &messages, 20, 100).await;
        // A relayed burst reports nothing back: no confirmation is passed on for it.
        let mut incoming = Vec::new();
        let stray = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            transport.recv_many(&mut incoming, 100),
        )
        .await;
        assert!(stray.is_err(), "relayed messages reported: {incoming:?}");
        (small, large, relayed)
    });
    // 200 and 2,000 messages relayed: ten times the messages must not cost ten times the allocations,
    // which stay a few per burst.
    assert!(
        large < 2 * small.max(20 * PER_BURST),
        "{small} allocations for 20 bursts of 10, {large} for 20 bursts of 100"
    );
    assert!(
        large <= 20 * PER_BURST,
        "{large} allocations for 20 bursts of 100"
    );
    assert!(
        relayed <= 20 * PER_BURST,
        "{relayed} allocations to relay 20 bursts of 100"
    );
    assert_eq!(
        peer.state.lock().unwrap().1,
        20 * 100 + 20 * 10 + 20 * 100 + 20 * 100
    );
}
