//! Test doubles for the server suite's own tests.

pub mod broken_server;
