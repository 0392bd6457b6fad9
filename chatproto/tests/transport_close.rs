//! `Transport::close` returns even when the application left many items unread: the driver must not wait
//! for room in a channel that `close` is not reading yet.

use std::time::Duration;

use chatproto::session::SessionConfig;
use chatproto::transport::{memory, Incoming, Transport};
use chatproto::{Message, Name, Verb};

async fn close_with_unread(count: usize) {
    let (mut client, mut server) = memory::pair(SessionConfig::default());
    let from = Name::new("ann").unwrap();
    for i in 0..count {
        client
            .send(Message::new(
                Verb::BROADCAST,
                from,
                Name::ALL,
                format!("{i}"),
            ))
            .await
            .unwrap();
    }
    for _ in 0..count {
        assert!(matches!(
            server.recv().await.unwrap(),
            Some(Incoming::Message(_))
        ));
    }
    // `count` confirmations wait unread on the client.
    let closed = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
    assert!(
        matches!(closed, Ok(Ok(()))),
        "close() with {count} unread confirmations: {closed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_returns_with_a_few_unread_confirmations() {
    close_with_unread(100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_returns_with_more_unread_confirmations_than_the_channel_holds() {
    close_with_unread(1000).await;
}
