//! [`TcpFrameWriter`]: the sending half of a TCP connection, one write per burst.

use async_trait::async_trait;
use chatproto::transport::{FrameWriter, TransportError};
use chatproto::FRAME_LEN;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Writes frames to a byte stream, a whole burst in one `write_all`: a write costs microseconds, a frame's
/// encoding tens of nanoseconds, so frames are gathered first. The session hands the burst over as
/// contiguous frames, which are the bytes of the stream as they are, so the writer keeps no buffer of its
/// own: an idle connection costs it nothing.
#[derive(Debug)]
pub struct TcpFrameWriter<W> {
    stream: W,
}

impl<W> TcpFrameWriter<W> {
    /// Wraps a stream.
    pub fn new(stream: W) -> TcpFrameWriter<W> {
        TcpFrameWriter { stream }
    }
}

#[async_trait]
impl<W: AsyncWrite + Unpin + Send> FrameWriter for TcpFrameWriter<W> {
    async fn write(&mut self, frames: &[[u8; FRAME_LEN]]) -> Result<(), TransportError> {
        // One system call for the whole burst, unless the socket takes only part of it.
        self.stream.write_all(frames.as_flattened()).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// Records each write call it is given.
    #[derive(Default)]
    struct Recorder {
        writes: Vec<Vec<u8>>,
    }

    impl AsyncWrite for Recorder {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            self.writes.push(buf.to_vec());
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_burst_is_one_write_of_the_frames_back_to_back() {
        // frames follow each other on the stream with nothing between them.
        let mut writer = TcpFrameWriter::new(Recorder::default());
        let frames: Vec<[u8; FRAME_LEN]> = (0..5u8).map(|i| [i; FRAME_LEN]).collect();
        writer.write(&frames).await.unwrap();
        assert_eq!(writer.stream.writes.len(), 1);
        assert_eq!(writer.stream.writes[0], frames.concat());
    }
}
