//! An in-memory carrier: two sessions joined by channels, with no sockets. Use it in tests, and read it as
//! the smallest complete example of a carrier.

use std::time::Instant;

use crate::session::{Role, Session, SessionConfig};
use crate::sim::FaultConfig;
use crate::Dialect;

use super::channel::link;
use super::faulty::FaultyWriter;
use super::SessionTransport;

/// Two connected v5 transports, client and server, over a clean in-memory link.
///
/// ```
/// use chatproto::transport::{memory, Incoming, Transport};
/// use chatproto::{Message, Name, Verb};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let (mut client, mut server) = memory::pair(Default::default());
/// let hello = Message::new(Verb::BROADCAST, Name::new("ann")?, Name::ALL, "hello");
/// let number = client.send(hello.clone()).await?;
/// match server.recv().await? {
///     Some(Incoming::Message(got)) => assert_eq!(got.text, hello.text),
///     other => panic!("expected the message, got {other:?}"),
/// }
/// assert_eq!(client.recv().await?, Some(Incoming::Confirmed(number)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub fn pair(config: SessionConfig) -> (SessionTransport, SessionTransport) {
    let now = Instant::now();
    let (to_server, server_reader) = link();
    let (to_client, client_reader) = link();
    let client = Session::new(Role::Client, Some(Dialect::V5), config.clone(), now);
    let server = Session::new(Role::Server, None, config, now);
    (
        SessionTransport::spawn(client, client_reader, to_server, None),
        SessionTransport::spawn(server, server_reader, to_client, None),
    )
}

/// Like [`pair`], but both directions go through a [`FaultyWriter`] seeded from `seed`.
pub fn faulty_pair(
    config: SessionConfig,
    faults: FaultConfig,
    seed: u64,
) -> (SessionTransport, SessionTransport) {
    let now = Instant::now();
    let (to_server, server_reader) = link();
    let (to_client, client_reader) = link();
    let client = Session::new(Role::Client, Some(Dialect::V5), config.clone(), now);
    let server = Session::new(Role::Server, None, config, now);
    let to_server = FaultyWriter::new(to_server, faults.clone(), seed.wrapping_mul(2));
    let to_client = FaultyWriter::new(to_client, faults, seed.wrapping_mul(2) + 1);
    (
        SessionTransport::spawn(client, client_reader, to_server, None),
        SessionTransport::spawn(server, server_reader, to_client, None),
    )
}
