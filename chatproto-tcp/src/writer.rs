//! [`TcpFrameWriter`]: the sending half of a TCP connection, one write per burst.

use async_trait::async_trait;
use bytes::BytesMut;
use chatproto::transport::{FrameWriter, TransportError};
use chatproto::FRAME_LEN;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Writes frames to a byte stream, a whole burst in one `write_all`: a write costs microseconds, a frame's
/// encoding tens of nanoseconds, so frames are gathered first. The buffer is kept between bursts.
#[derive(Debug)]
pub struct TcpFrameWriter<W> {
    stream: W,
    buf: BytesMut,
}

impl<W> TcpFrameWriter<W> {
    /// Wraps a stream.
    pub fn new(stream: W) -> TcpFrameWriter<W> {
        TcpFrameWriter {
            stream,
            buf: BytesMut::with_capacity(64 * FRAME_LEN),
        }
    }
}

#[async_trait]
impl<W: AsyncWrite + Unpin + Send> FrameWriter for TcpFrameWriter<W> {
    async fn write(&mut self, frames: &[[u8; FRAME_LEN]]) -> Result<(), TransportError> {
        self.buf.clear();
        for frame in frames {
            self.buf.extend_from_slice(frame);
        }
        self.stream.write_all(&self.buf).await?;
        // A TLS stream may keep the end of a burst in its buffer when the socket is full; flushing sends
        // it now rather than with the next burst, which may never come. For plain TCP it does nothing.
        self.stream.flush().await?;
        Ok(())
    }

    async fn shutdown(&mut self) -> Result<(), TransportError> {
        self.stream.shutdown().await?;
        Ok(())
    }
}
