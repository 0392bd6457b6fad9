//! `chat-load`: an open-loop load generator for chat-server, with Redis pub/sub as a baseline. See
//! `chat-load --help` and [`chatproto_examples::load`].

use chatproto_examples::load::{run, LoadArgs};
use clap::Parser;

fn main() -> std::process::ExitCode {
    run(LoadArgs::parse())
}
