//! Framing for byte streams: `tokio_util::codec::{Decoder, Encoder}` for 337-byte frames (feature `codec`).
//!
//! Frames have a fixed length, so a damaged frame never desynchronises the stream: the decoder reports it
//! as an item (`Some(Err(..))`) and carries on, and the receiver answers it with RESEND or ERROR. Only the
//! stream itself failing is an `Err`: an IO error, or bytes left over at end of stream.

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::wire::{layout::FRAME_LEN, DecodeError, Packet};

/// A `Decoder` and `Encoder` of [`Packet`]s over a byte stream.
///
/// ```
/// use bytes::BytesMut;
/// use chatproto::{Dialect, Name, Packet, PacketCodec, Text, Verb};
/// use tokio_util::codec::{Decoder, Encoder};
///
/// let packet = Packet::new(Dialect::V5, Verb::WHO, Name::new("ann")?, Name::SERVER, Text::EMPTY)?;
/// let mut codec = PacketCodec::new();
/// let mut buf = BytesMut::new();
/// codec.encode(&packet, &mut buf)?;
/// let tail = buf.split_off(100);
/// assert!(codec.decode(&mut buf)?.is_none()); // 100 bytes: not a frame yet
/// buf.unsplit(tail);
/// assert_eq!(codec.decode(&mut buf)?, Some(Ok(packet)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct PacketCodec {
    _private: (),
}

impl PacketCodec {
    /// A codec.
    pub fn new() -> PacketCodec {
        PacketCodec::default()
    }
}

/// Why a stream of frames failed. After this the stream must end.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Reading or writing failed.
    #[error("io error: {0}")]
    Io(#[from] std::io::Error),
    /// The stream ended partway through a frame (R-2.3).
    #[error("stream ended {len} bytes into a 337-byte frame")]
    TruncatedFrame {
        /// Bytes of the unfinished frame.
        len: usize,
    },
}

impl Decoder for PacketCodec {
    type Item = Result<Packet, DecodeError>;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, CodecError> {
        if src.len() < FRAME_LEN {
            // Not a whole frame yet: an expected condition, not an error.
            src.reserve(FRAME_LEN - src.len());
            return Ok(None);
        }
        let result = Packet::decode(&src[..FRAME_LEN]);
        src.advance(FRAME_LEN);
        Ok(Some(result))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, CodecError> {
        match self.decode(src)? {
            Some(item) => Ok(Some(item)),
            None if src.is_empty() => Ok(None),
            None => Err(CodecError::TruncatedFrame { len: src.len() }),
        }
    }
}

impl Encoder<&Packet> for PacketCodec {
    type Error = CodecError;

    fn encode(&mut self, packet: &Packet, dst: &mut BytesMut) -> Result<(), CodecError> {
        packet.encode_to(dst);
        Ok(())
    }
}

impl Encoder<Packet> for PacketCodec {
    type Error = CodecError;

    fn encode(&mut self, packet: Packet, dst: &mut BytesMut) -> Result<(), CodecError> {
        packet.encode_to(dst);
        Ok(())
    }
}

/// Already encoded frames (a relayed frame encoded once for many receivers) pass through as they are.
impl Encoder<&[u8; FRAME_LEN]> for PacketCodec {
    type Error = CodecError;

    fn encode(&mut self, frame: &[u8; FRAME_LEN], dst: &mut BytesMut) -> Result<(), CodecError> {
        dst.extend_from_slice(frame);
        Ok(())
    }
}
