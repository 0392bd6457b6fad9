//! What a carrier implements to run sessions: reading and writing frames.

use async_trait::async_trait;
use bytes::BytesMut;

use crate::FRAME_LEN;

use super::TransportError;

/// Received frames, reused from read to read so the receive path allocates nothing once warm.
///
/// A byte-stream reader pushes whole 337-byte frames; a datagram reader pushes each datagram as it came,
/// whatever its length, and the session refuses wrong lengths.
#[derive(Debug, Default)]
pub struct FrameBatch {
    bytes: BytesMut,
    lengths: Vec<usize>,
}

impl FrameBatch {
    /// An empty batch.
    pub fn new() -> FrameBatch {
        FrameBatch::default()
    }

    /// Adds one frame (or datagram).
    pub fn push(&mut self, frame: &[u8]) {
        self.bytes.extend_from_slice(frame);
        self.lengths.push(frame.len());
    }

    /// The frames, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.lengths.iter().scan(0, move |at, &len| {
            let frame = &self.bytes[*at..*at + len];
            *at += len;
            Some(frame)
        })
    }

    /// How many frames.
    pub fn len(&self) -> usize {
        self.lengths.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }

    /// Empties the batch, keeping its memory.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.lengths.clear();
    }

    /// Empties the batch and gives back its memory beyond room for `frames` frames, so that an idle
    /// session does not keep the size of its largest burst.
    pub fn clear_and_shrink(&mut self, frames: usize) {
        self.clear();
        if self.bytes.capacity() > frames * FRAME_LEN {
            self.bytes = BytesMut::new();
        }
        self.lengths.shrink_to(frames);
    }
}

/// The receiving half of a carrier.
#[async_trait]
pub trait FrameReader: Send {
    /// Waits for at least one frame and appends what has arrived to `batch`. `Ok(false)` means the peer
    /// closed cleanly. Must be cancel-safe: dropping the future loses nothing.
    async fn read(&mut self, batch: &mut FrameBatch) -> Result<bool, TransportError>;

    /// Frees buffers the reader keeps between reads, if it holds nothing: the session has been idle for a
    /// while (its keepalive interval). A reader sized for bursts would otherwise keep their size in every
    /// idle connection. The default does nothing.
    fn release_idle_memory(&mut self) {}
}

/// The sending half of a carrier.
#[async_trait]
pub trait FrameWriter: Send {
    /// Sends `frames` in order, with as few system calls as the carrier allows: one write for a byte
    /// stream, one datagram each (or one `sendmmsg`) for datagrams.
    async fn write(&mut self, frames: &[[u8; FRAME_LEN]]) -> Result<(), TransportError>;

    /// Frees buffers the writer keeps between writes: the session has been idle for a while (its
    /// keepalive interval). The default does nothing.
    fn release_idle_memory(&mut self) {}

    /// Flushes and shuts the sending direction, where that means something.
    async fn shutdown(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
}
