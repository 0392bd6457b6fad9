//! [`TcpFrameReader`]: the receiving half of a TCP connection, cut into 337-byte frames.

use async_trait::async_trait;
use bytes::{Buf, BytesMut};
use chatproto::transport::{FrameBatch, FrameReader, TransportError};
use chatproto::FRAME_LEN;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Frames of room a quiet connection reads into once bytes arrive: a keepalive and its answer, or a short
/// message. An idle connection, whose buffer has been released, holds none while it waits.
const QUIET_FRAMES: usize = 2;
/// Frames of room at most: under load, a good burst per read system call.
const BURST_FRAMES: usize = 64;

/// Reads frames from a byte stream (any `AsyncRead`; a TCP read half in practice).
///
/// The buffer starts empty and grows only while reads fill it: each read that fills all the room it had
/// doubles the room for the next, up to 64 frames. [`FrameReader::release_idle_memory`] frees it (keeping
/// only a partial frame, if a peer stopped in one); a read with no buffer waits for the first bytes in a
/// frame's room on the stack and makes the buffer once they come, so an idle connection holds none.
#[derive(Debug)]
pub struct TcpFrameReader<R> {
    stream: R,
    buf: BytesMut,
    /// Whether `buf` holds no allocation (new, or freed while quiet). Not `capacity() == 0`: that is also
    /// the case of a full buffer read to its end, which keeps its allocation for the next read.
    unallocated: bool,
    /// Frames of room the next read makes, from `QUIET_FRAMES` to `BURST_FRAMES`.
    room: usize,
}

impl<R> TcpFrameReader<R> {
    /// Wraps a stream. Nothing is allocated until the first read.
    pub fn new(stream: R) -> TcpFrameReader<R> {
        TcpFrameReader {
            stream,
            buf: BytesMut::new(),
            unallocated: true,
            room: QUIET_FRAMES,
        }
    }

    /// Bytes of room from the first unread byte on.
    #[cfg(test)]
    fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }
}

#[async_trait]
impl<R: AsyncRead + Unpin + Send> FrameReader for TcpFrameReader<R> {
    async fn read(&mut self, batch: &mut FrameBatch) -> Result<bool, TransportError> {
        loop {
            // Bytes already buffered are consumed before reading again, so cancelling a read loses nothing.
            while self.buf.len() >= FRAME_LEN {
                batch.push(&self.buf[..FRAME_LEN]);
                self.buf.advance(FRAME_LEN);
            }
            if !batch.is_empty() {
                return Ok(true);
            }
            // Less than a frame is buffered here. Once the room is there it is reused: `reserve` moves
            // the partial frame to the front of the allocation rather than allocating again.
            if self.unallocated {
                // Idle (nothing read yet, or the buffer was released): wait for the first bytes without a
                // buffer on the heap, since a read is always pending and an idle connection would keep one
                // for nothing. They come in here and are copied into a buffer made then.
                let mut first = [0; FRAME_LEN];
                let read = self.stream.read(&mut first).await?;
                if read == 0 {
                    return Ok(false);
                }
                self.buf.reserve(self.room * FRAME_LEN);
                self.buf.extend_from_slice(&first[..read]);
                self.unallocated = false;
                continue;
            }
            let wanted = self.room * FRAME_LEN;
            if self.buf.capacity() < wanted {
                self.buf.reserve(wanted - self.buf.len());
            }
            let room = self.buf.capacity() - self.buf.len();
            let read = self.stream.read_buf(&mut self.buf).await?;
            if read == 0 {
                // a stream that ends mid-frame is an error, not a short frame.
                return match self.buf.len() {
                    0 => Ok(false),
                    len => Err(TransportError::TruncatedFrame { len }),
                };
            }
            if read == room {
                // The read filled the buffer, so more is probably waiting: more room for the next one.
                self.room = (self.room * 2).min(BURST_FRAMES);
            }
        }
    }

    fn release_idle_memory(&mut self) {
        self.room = QUIET_FRAMES;
        // An empty buffer is freed: the next read waits without one. A peer that stopped mid-frame keeps
        // its partial frame (at most 336 bytes), not the buffer around it.
        self.unallocated = self.buf.is_empty();
        self.buf = if self.unallocated {
            BytesMut::new()
        } else {
            BytesMut::from(&self.buf[..])
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    fn frame(fill: u8) -> [u8; FRAME_LEN] {
        [fill; FRAME_LEN]
    }

    #[tokio::test]
    async fn holds_nothing_before_the_first_read_and_the_quiet_size_after_one() {
        let (mut peer, local) = tokio::io::duplex(64 * 1024);
        let mut reader = TcpFrameReader::new(local);
        assert_eq!(reader.buffer_capacity(), 0);
        peer.write_all(&frame(1)).await.unwrap();
        let mut batch = FrameBatch::new();
        assert!(reader.read(&mut batch).await.unwrap());
        assert_eq!(batch.iter().collect::<Vec<_>>(), vec![&frame(1)[..]]);
        assert!(reader.buffer_capacity() > 0);
        assert!(reader.buffer_capacity() <= QUIET_FRAMES * FRAME_LEN);
        reader.release_idle_memory();
        assert!(reader.buffer_capacity() <= QUIET_FRAMES * FRAME_LEN);
    }

    #[tokio::test]
    async fn grows_under_a_burst_up_to_its_bound_and_shrinks_when_idle() {
        let (mut peer, local) = tokio::io::duplex(1024 * FRAME_LEN);
        let mut reader = TcpFrameReader::new(local);
        let burst: Vec<u8> = (0..500u32).flat_map(|i| frame(i as u8)).collect();
        peer.write_all(&burst).await.unwrap();
        let mut batch = FrameBatch::new();
        let mut frames = 0;
        let mut largest_batch = 0;
        while frames < 500 {
            batch.clear();
            assert!(reader.read(&mut batch).await.unwrap());
            for (i, got) in batch.iter().enumerate() {
                assert_eq!(got, &frame((frames + i) as u8)[..]);
            }
            frames += batch.len();
            largest_batch = largest_batch.max(batch.len());
        }
        assert_eq!(frames, 500);
        // The room grew past the quiet size, within its bound.
        assert!(
            largest_batch > QUIET_FRAMES,
            "largest batch {largest_batch}"
        );
        assert!(reader.room > QUIET_FRAMES && reader.room <= BURST_FRAMES);
        assert!(reader.buffer_capacity() <= 2 * BURST_FRAMES * FRAME_LEN);
        reader.release_idle_memory();
        assert_eq!(reader.buffer_capacity(), 0);
    }

    #[tokio::test]
    async fn a_partial_frame_survives_an_idle_release() {
        let (mut peer, local) = tokio::io::duplex(64 * 1024);
        let mut reader = TcpFrameReader::new(local);
        let mut batch = FrameBatch::new();
        // Grow the buffer first, so that the release has something to shrink.
        let burst: Vec<u8> = (0..100u8).flat_map(frame).collect();
        peer.write_all(&burst).await.unwrap();
        let mut frames = 0;
        while frames < 100 {
            batch.clear();
            reader.read(&mut batch).await.unwrap();
            frames += batch.len();
        }
        let whole = frame(7);
        peer.write_all(&whole[..100]).await.unwrap();
        batch.clear();
        // The read takes the 100 bytes, finds no whole frame and waits; polled once, then cancelled.
        tokio::select! {
            biased;
            _ = reader.read(&mut batch) => panic!("no whole frame was sent"),
            _ = std::future::ready(()) => {}
        }
        assert_eq!(reader.buf.len(), 100);
        reader.release_idle_memory();
        assert!(reader.buffer_capacity() <= QUIET_FRAMES * FRAME_LEN);
        peer.write_all(&whole[100..]).await.unwrap();
        assert!(reader.read(&mut batch).await.unwrap());
        assert_eq!(batch.iter().collect::<Vec<_>>(), vec![&whole[..]]);
    }

    #[tokio::test]
    async fn a_stream_that_ends_mid_frame_is_an_error() {
        // a truncated frame is reported, not delivered short.
        let (mut peer, local) = tokio::io::duplex(64 * 1024);
        let mut reader = TcpFrameReader::new(local);
        peer.write_all(&frame(3)[..200]).await.unwrap();
        drop(peer);
        let mut batch = FrameBatch::new();
        match reader.read(&mut batch).await {
            Err(TransportError::TruncatedFrame { len }) => assert_eq!(len, 200),
            other => panic!("expected a truncated frame, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_clean_end_after_whole_frames_is_not_an_error() {
        let (mut peer, local) = tokio::io::duplex(64 * 1024);
        let mut reader = TcpFrameReader::new(local);
        peer.write_all(&frame(4)).await.unwrap();
        drop(peer);
        let mut batch = FrameBatch::new();
        assert!(reader.read(&mut batch).await.unwrap());
        batch.clear();
        assert!(!reader.read(&mut batch).await.unwrap());
    }
}
