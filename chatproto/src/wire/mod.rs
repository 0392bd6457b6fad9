//! The frame: layout, fields, verbs, checksums, and turning packets into bytes and back (PROTOCOL.md §2–§4).

mod checksum;
mod decode;
mod dialect;
mod encode;
mod error;
mod field;
mod flags;
pub mod layout;
mod packet;
mod verb;
mod view;

pub(crate) use checksum::byte_change_terms;
pub use checksum::{crc32, legacy as legacy_checksum};
pub use dialect::Dialect;
pub use error::{DecodeError, Field, Header, ValidationError};
pub use field::{FixedStr, Name, Text};
pub use flags::Flags;
pub use packet::Packet;
pub use verb::Verb;
pub use view::PacketView;
