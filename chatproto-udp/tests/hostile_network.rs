//! Real UDP sockets on loopback, both wrapped in seeded faults: 20 % loss, 5 % duplication, reordering and
//! 1 % corruption. Every message must arrive exactly once and in order (PROTOCOL.md … ).

use std::sync::Arc;
use std::time::Duration;

use chatproto::sim::FaultConfig;
use chatproto::transport::{Incoming, Listener, Transport, TransportError};
use chatproto::{Message, Name, Verb};
use chatproto_udp::{connect_on, FaultySocket, UdpChatListener, UdpOptions};
use tokio::net::UdpSocket;

const COUNT: u32 = 10_000;

fn hostile() -> FaultConfig {
    FaultConfig {
        loss: 0.20,
        duplicate: 0.05,
        reorder: 0.10,
        corrupt: 0.01,
        delay: Duration::ZERO,
        reorder_delay: Duration::from_millis(3),
    }
}

async fn send_all<T: Transport>(transport: &mut T, who: &str) -> Result<(), TransportError> {
    let from = Name::new(who).unwrap();
    for i in 0..COUNT {
        transport
            .send(Message::new(
                Verb::PRIVATE_MESSAGE,
                from,
                Name::new("peer").unwrap(),
                format!("{who} {i}"),
            ))
            .await?;
    }
    Ok(())
}

/// Receives `COUNT` messages from `who`, checking each is the next one.
async fn receive_all<T: Transport>(transport: &mut T, who: &str) {
    let mut next = 0;
    while next < COUNT {
        match transport.recv().await {
            Ok(Some(Incoming::Message(message))) => {
                assert_eq!(
                    message.text,
                    format!("{who} {next}"),
                    "out of order or duplicated"
                );
                next += 1;
            }
            Ok(Some(Incoming::Confirmed(_))) => {}
            other => panic!("after {next} messages from {who}: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_each_way_through_loss_duplication_reordering_and_corruption() {
    let options = UdpOptions::default();
    let server_socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let server_socket = Arc::new(FaultySocket::new(server_socket, hostile(), 11));
    let mut listener = UdpChatListener::on(server_socket, options.clone()).unwrap();
    let addr = listener.local_addr().unwrap();

    let client_socket = Arc::new(FaultySocket::new(
        UdpSocket::bind("127.0.0.1:0").await.unwrap(),
        hostile(),
        12,
    ));
    let mut client = connect_on(client_socket, addr, options, |_| {})
        .await
        .unwrap();
    let mut server = listener.accept().await.unwrap();

    // Client to server, then server to client; within each phase sender and receiver run at once.
    let (sent, ()) = tokio::join!(
        send_all(&mut client, "client"),
        receive_all(&mut server, "client")
    );
    sent.unwrap();
    let (sent, ()) = tokio::join!(
        send_all(&mut server, "server"),
        receive_all(&mut client, "server")
    );
    sent.unwrap();
}
