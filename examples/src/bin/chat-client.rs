//! `chat-client`: see [`chatproto_examples::client`] for what it does, and `--help` for how to run it.

use std::process::ExitCode;

use clap::Parser;

use chatproto_examples::client::{run, Args};

fn main() -> ExitCode {
    run(Args::parse())
}
