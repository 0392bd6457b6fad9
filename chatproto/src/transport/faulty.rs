//! [`FaultyWriter`]: a seeded wrapper around any [`FrameWriter`] that loses, duplicates, reorders, delays
//! and corrupts frames, for testing transports against a hostile network with real IO.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::sim::{FaultConfig, Faults};
use crate::FRAME_LEN;

use super::frames::FrameWriter;
use super::TransportError;

/// Frames the wrapper holds for delayed delivery at most; a writer that outruns it waits.
const HELD: usize = 4096;

/// Wraps a writer so that every frame meets the fate a seeded [`Faults`] decides. Delayed frames are
/// delivered by a task of their own, so one delay never holds up the frames behind it.
#[derive(Debug)]
pub struct FaultyWriter {
    faults: Faults,
    frames: mpsc::Sender<(Instant, [u8; FRAME_LEN])>,
}

impl FaultyWriter {
    /// Wraps `inner`; the same `seed` gives the same faults in the same order. Needs a tokio runtime.
    pub fn new<W: FrameWriter + 'static>(inner: W, config: FaultConfig, seed: u64) -> FaultyWriter {
        let (frames, rx) = mpsc::channel(HELD);
        tokio::spawn(deliver(inner, rx));
        FaultyWriter {
            faults: Faults::new(config, seed),
            frames,
        }
    }
}

#[async_trait]
impl FrameWriter for FaultyWriter {
    async fn write(&mut self, frames: &[[u8; FRAME_LEN]]) -> Result<(), TransportError> {
        let now = Instant::now();
        for frame in frames {
            let fate = self.faults.fate(FRAME_LEN);
            for (i, delay) in fate.copies.iter().enumerate() {
                let mut copy = *frame;
                if i == 0 {
                    Faults::damage(&fate, &mut copy);
                }
                self.frames
                    .send((now + *delay, copy))
                    .await
                    .map_err(|_| TransportError::Closed)?;
            }
        }
        Ok(())
    }
}

async fn deliver<W: FrameWriter>(mut inner: W, mut rx: mpsc::Receiver<(Instant, [u8; FRAME_LEN])>) {
    let mut held: BinaryHeap<Reverse<(Instant, u64, [u8; FRAME_LEN])>> = BinaryHeap::new();
    let mut order = 0u64;
    let mut due = Vec::new();
    let mut open = true;
    while open || !held.is_empty() {
        let next = held.peek().map(|Reverse((at, _, _))| *at);
        tokio::select! {
            biased;
            frame = rx.recv(), if open => match frame {
                Some((at, frame)) => {
                    order += 1;
                    held.push(Reverse((at, order, frame)));
                }
                None => open = false,
            },
            _ = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {
                let now = Instant::now();
                while held.peek().is_some_and(|Reverse((at, _, _))| *at <= now) {
                    if let Some(Reverse((_, _, frame))) = held.pop() {
                        due.push(frame);
                    }
                }
                if inner.write(&due).await.is_err() {
                    return;
                }
                due.clear();
            }
        }
    }
    let _ = inner.shutdown().await;
}
