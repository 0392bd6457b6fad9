//! Messages longer than one packet's text (PROTOCOL.md §6).
//!
//! [`Fragments`] splits a message into packets at UTF-8 character boundaries; [`Reassembler`] joins them
//! back, bounded by a limit. Both speak whole, plain-text messages on one side and wire packets (enciphered
//! when the encrypted flag is set) on the other.

mod message;
mod reassemble;
mod split;

pub use message::Message;
pub use reassemble::{Reassembler, ReassemblyError, DEFAULT_LIMIT};
pub use split::Fragments;
