//! # chatproto
//!
//! The wire format and protocol core of chatproto, a small binary chat protocol: every packet is one
//! 337-byte frame of fixed-width fields with a checksum. This crate parses and serializes those frames,
//! holds the text cipher, fragmentation, the reliable session and the chat routing core, and does no IO:
//! transports (`chatproto-tcp`, `chatproto-udp`, or your own) drive it. The normative spec is `PROTOCOL.md` at the repository root; comments here cite
//! its requirement numbers (`R-3.7`).
//!
//! ```
//! use chatproto::{Dialect, Name, Packet, Text, Verb};
//!
//! let hello = Packet::new(Dialect::V5, Verb::BROADCAST, Name::new("ann")?, Name::ALL, Text::new("hi")?)?;
//! let frame: [u8; 337] = hello.encode();
//! assert_eq!(Packet::decode(&frame)?, hello);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Layout
//!
//! - [`wire`]: the frame. [`Packet`] (owned, heap-free, valid by construction) and [`PacketView`] (borrowed,
//!   zero-copy), [`Verb`], [`Flags`], [`Dialect`], the [`Name`] and [`Text`] fields, checksums, decoding
//!   (with `nom`) and encoding, and their errors [`DecodeError`] and [`ValidationError`].
//! - [`cipher`]: the rotate-13 obfuscation behind the encrypted flag.
//! - [`fragment`]: [`Fragments`] splits long messages, [`Reassembler`] joins them within a limit.
//! - `codec` (feature `codec`, on by default): [`PacketCodec`], a `tokio_util` `Decoder`/`Encoder`.
//! - [`session`]: [`Session`](session::Session), the sans-IO reliable session (PROTOCOL.md §7).
//! - [`sim`]: seeded faults and [`SimPair`](sim::SimPair), two sessions in simulated time.
//! - [`chat`]: [`Hub`](chat::Hub), the chat server's sans-IO routing core (PROTOCOL.md §8), with the `Store`
//!   and `PasswordHasher` traits it uses.
//! - `transport` (feature `transport`, on by default): the `Transport` and `Listener` traits, the task
//!   that drives a session over any frame carrier, an in-memory carrier and a fault-injecting wrapper.
//!
//! # Errors
//!
//! One `thiserror` enum per layer: [`DecodeError`] for bytes that are not a valid frame (each keeps the
//! [`Header`] it read, so the receiver can answer RESEND or ERROR), [`ValidationError`] for packets that
//! cannot be built, [`ReassemblyError`] for fragments that do not make a message, and `CodecError` for a
//! stream that fails. Nothing panics on any input.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod chat;
pub mod cipher;
#[cfg(feature = "codec")]
mod codec;
pub mod fragment;
pub mod session;
pub mod sim;
#[cfg(feature = "transport")]
pub mod transport;
pub mod wire;

#[cfg(feature = "codec")]
pub use codec::{CodecError, PacketCodec};
pub use fragment::{Fragments, Message, Reassembler, ReassemblyError};
pub use wire::{
    layout::FRAME_LEN, DecodeError, Dialect, Field, FixedStr, Flags, Header, Name, Packet,
    PacketView, Text, ValidationError, Verb,
};
