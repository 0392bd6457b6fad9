//! [`ChannelReader`] and [`ChannelWriter`]: frames carried by tokio channels, for in-memory links and for
//! demultiplexers that route each peer's frames into a queue of its own.

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::FRAME_LEN;

use super::frames::{FrameBatch, FrameReader, FrameWriter};
use super::TransportError;

/// Frames in flight in each direction at most.
const IN_FLIGHT: usize = 1024;

/// Frames that arrive through a channel: the far end of an in-memory [`link`], or the queue a
/// demultiplexer (a UDP listener, say) routes one peer's datagrams into.
#[derive(Debug)]
pub struct ChannelReader {
    frames: mpsc::Receiver<[u8; FRAME_LEN]>,
}

/// The sending end of an in-memory [`link`].
#[derive(Debug, Clone)]
pub struct ChannelWriter {
    frames: mpsc::Sender<[u8; FRAME_LEN]>,
}

/// A one-way in-memory link.
pub fn link() -> (ChannelWriter, ChannelReader) {
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    (ChannelWriter { frames: tx }, ChannelReader { frames: rx })
}

impl ChannelReader {
    /// Reads the frames sent into `frames`.
    pub fn new(frames: mpsc::Receiver<[u8; FRAME_LEN]>) -> ChannelReader {
        ChannelReader { frames }
    }
}

#[async_trait]
impl FrameReader for ChannelReader {
    async fn read(&mut self, batch: &mut FrameBatch) -> Result<bool, TransportError> {
        // `recv` is cancel-safe, and so is taking what is already queued afterwards.
        let Some(frame) = self.frames.recv().await else {
            return Ok(false);
        };
        batch.push(&frame);
        while let Ok(frame) = self.frames.try_recv() {
            batch.push(&frame);
        }
        Ok(true)
    }
}

#[async_trait]
impl FrameWriter for ChannelWriter {
    async fn write(&mut self, frames: &[[u8; FRAME_LEN]]) -> Result<(), TransportError> {
        for frame in frames {
            self.frames
                .send(*frame)
                .await
                .map_err(|_| TransportError::Closed)?;
        }
        Ok(())
    }
}
