//! Conformance material for chatproto: language-neutral test vectors in `vectors/`.
//!
//! [`vectors`] reads them; `tests/vectors.rs` checks the `chatproto` crate against every one.
//! [`transport_suite`] is a generic suite that any `Transport` implementation runs over its own carrier;
//! `tests/transport_suite.rs` runs it for TCP, UDP and the in-memory carrier.
//! [`server_suite`] checks a running chatproto server over the network, requirement by requirement; the
//! `chatproto-conformance` binary runs it against any server.

#![warn(missing_docs)]

pub mod server_suite;
pub mod transport_suite;
pub mod vectors;
