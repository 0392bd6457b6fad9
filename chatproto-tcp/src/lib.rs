//! # chatproto-tcp
//!
//! The tokio TCP transport for chatproto. **Not written yet**: this crate is a placeholder in the
//! workspace, so that the layout is in place; it exports nothing. The adapter, behind the `Transport` trait,
//! comes with the reliable-session work.

#![warn(missing_docs)]
