//! The chat client: not written yet.
