//! `Relayer`: messages queued from outside the transport's handle arrive in order, behind what the handle
//! queued first; a full queue and an ended session are reported, never waited on; and a relayer does not
//! keep its session open.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chatproto::session::{Role, Session, SessionConfig, SharedMessage};
use chatproto::transport::{link, memory, Incoming, RelayError, SessionTransport, Transport};
use chatproto::{Dialect, Message, Name, Verb};

fn shared(text: String) -> Arc<SharedMessage> {
    let from = Name::new("hub").unwrap();
    Arc::new(SharedMessage::new(Message::new(
        Verb::BROADCAST,
        from,
        Name::ALL,
        text,
    )))
}

async fn next_text(transport: &mut SessionTransport) -> String {
    loop {
        let item = tokio::time::timeout(Duration::from_secs(10), transport.recv())
            .await
            .expect("a message within 10 s")
            .expect("no error")
            .expect("not closed");
        if let Incoming::Message(message) = item {
            return message.text;
        }
    }
}

#[tokio::test]
async fn relayed_messages_arrive_in_order_behind_what_the_handle_sent() {
    let (mut client, mut server) = memory::pair(SessionConfig::default());
    let relayer = server.relayer().expect("a SessionTransport has a relayer");
    server
        .send(Message::new(
            Verb::BROADCAST,
            Name::new("hub").unwrap(),
            Name::ALL,
            "first, through the handle",
        ))
        .await
        .unwrap();
    for i in 0..200 {
        relayer.try_relay(shared(format!("relayed {i}"))).unwrap();
    }
    assert_eq!(next_text(&mut client).await, "first, through the handle");
    for i in 0..200 {
        assert_eq!(next_text(&mut client).await, format!("relayed {i}"));
    }
}

#[tokio::test]
async fn a_peer_that_takes_nothing_fills_the_queue_and_the_relayer_says_so() {
    // A server session whose peer never reads or confirms: the frames go into a channel nobody drains.
    let (to_client, _never_read) = link();
    let (_to_server, server_reader) = link();
    let session = Session::new(
        Role::Server,
        Some(Dialect::V5),
        SessionConfig::default(),
        Instant::now(),
    );
    let server = SessionTransport::spawn(session, server_reader, to_client, None);
    let relayer = server.relayer().unwrap();
    let text = "x".repeat(60 * 1024);
    let mut queued = 0;
    let full = loop {
        match relayer.try_relay(shared(text.clone())) {
            Ok(()) => queued += 1,
            Err(error) => break error,
        }
        assert!(queued < 10_000, "the relayer never reported a full queue");
        tokio::task::yield_now().await;
    };
    assert_eq!(full, RelayError::Full);
    assert!(queued > 0);
    assert!(!relayer.is_closed());
}

#[tokio::test]
async fn a_relayer_does_not_keep_its_session_open() {
    let (mut client, server) = memory::pair(SessionConfig::default());
    let relayer = server.relayer().unwrap();
    drop(server);
    // The server's session closes once its handle is gone, although the relayer is still held.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = client.recv().await {}
    })
    .await;
    assert!(ended.is_ok(), "the client did not see the session end");
    assert!(relayer.is_closed());
    assert_eq!(
        relayer.try_relay(shared("late".into())),
        Err(RelayError::Closed)
    );
}
