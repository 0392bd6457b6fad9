//! Example programs built on chatproto. **Not written yet**: the `chat-server`, `chat-client` and
//! `chat-load` binaries arrive with their own work; this crate only holds their place in the workspace.
