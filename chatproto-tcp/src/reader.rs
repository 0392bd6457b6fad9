//! [`TcpFrameReader`]: the receiving half of a TCP connection, cut into 337-byte frames.

use async_trait::async_trait;
use bytes::{Buf, BytesMut};
use chatproto::transport::{FrameBatch, FrameReader, TransportError};
use chatproto::FRAME_LEN;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Reads frames from a byte stream (any `AsyncRead`; a TCP read half in practice).
#[derive(Debug)]
pub struct TcpFrameReader<R> {
    stream: R,
    buf: BytesMut,
}

impl<R> TcpFrameReader<R> {
    /// Wraps a stream.
    pub fn new(stream: R) -> TcpFrameReader<R> {
        // Room for a good burst of frames per read system call.
        TcpFrameReader {
            stream,
            buf: BytesMut::with_capacity(64 * FRAME_LEN),
        }
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
            if self.buf.capacity() - self.buf.len() < FRAME_LEN {
                self.buf.reserve(64 * FRAME_LEN);
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                // a stream that ends mid-frame is an error, not a short frame.
                return match self.buf.len() {
                    0 => Ok(false),
                    len => Err(TransportError::TruncatedFrame { len }),
                };
            }
        }
    }
}
