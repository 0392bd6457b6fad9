//! TCP does not corrupt, but links and middleboxes can; a frame damaged in transit must be answered with
//! RESEND and the message must still arrive exactly once (PROTOCOL.md ).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chatproto::session::{Role, Session, SessionConfig};
use chatproto::sim::FaultConfig;
use chatproto::transport::faulty::FaultyWriter;
use chatproto::transport::{
    FrameBatch, FrameReader, Incoming, SessionTransport, Transport, TransportError,
};
use chatproto::{Dialect, Message, Name, PacketView, Verb};
use chatproto_tcp::{TcpFrameReader, TcpFrameWriter};
use tokio::net::{TcpListener, TcpStream};

/// Counts the RESEND frames a reader passes on.
struct CountingResends<R> {
    inner: R,
    resends: Arc<AtomicUsize>,
}

#[async_trait]
impl<R: FrameReader> FrameReader for CountingResends<R> {
    async fn read(&mut self, batch: &mut FrameBatch) -> Result<bool, TransportError> {
        let open = self.inner.read(batch).await?;
        let resends = batch
            .iter()
            .filter(|f| PacketView::decode(f).is_ok_and(|p| p.verb() == Verb::RESEND))
            .count();
        self.resends.fetch_add(resends, Ordering::Relaxed);
        Ok(open)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_frames_are_resent_and_arrive_exactly_once() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client_stream = TcpStream::connect(addr).await.unwrap();
    let (server_stream, _) = listener.accept().await.unwrap();

    // 5 % of the client's frames are damaged on the way; nothing is lost or reordered, as on TCP.
    let damage = FaultConfig {
        corrupt: 0.05,
        ..FaultConfig::clean(std::time::Duration::ZERO)
    };
    let resends = Arc::new(AtomicUsize::new(0));
    let (read, write) = client_stream.into_split();
    let client = Session::new(
        Role::Client,
        Some(Dialect::V5),
        SessionConfig::stream(),
        Instant::now(),
    );
    let reader = CountingResends {
        inner: TcpFrameReader::new(read),
        resends: resends.clone(),
    };
    let writer = FaultyWriter::new(TcpFrameWriter::new(write), damage, 3);
    let mut client = SessionTransport::spawn(client, reader, writer, None);

    let (read, write) = server_stream.into_split();
    let server = Session::new(Role::Server, None, SessionConfig::stream(), Instant::now());
    let mut server = SessionTransport::spawn(
        server,
        TcpFrameReader::new(read),
        TcpFrameWriter::new(write),
        None,
    );

    const COUNT: u32 = 2000;
    let ann = Name::new("ann").unwrap();
    let sending = async {
        for i in 0..COUNT {
            client
                .send(Message::new(
                    Verb::BROADCAST,
                    ann,
                    Name::ALL,
                    format!("message {i}"),
                ))
                .await
                .unwrap();
        }
    };
    let receiving = async {
        for i in 0..COUNT {
            loop {
                match server.recv().await {
                    Ok(Some(Incoming::Message(message))) => {
                        assert_eq!(
                            message.text,
                            format!("message {i}"),
                            "lost, duplicated or out of order"
                        );
                        break;
                    }
                    Ok(Some(Incoming::Confirmed(_))) => {}
                    other => panic!("at message {i}: {other:?}"),
                }
            }
        }
    };
    tokio::join!(sending, receiving);
    assert!(
        resends.load(Ordering::Relaxed) > 0,
        "the server never asked for a resend"
    );
}
