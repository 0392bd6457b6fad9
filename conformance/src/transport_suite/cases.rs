//! The cases of the transport suite, one function each.

use std::time::Duration;

use chatproto::transport::{Incoming, Transport, TransportError};
use chatproto::{Message, Name, Verb};

use super::{Outcome, TransportHarness};

/// The names of the cases, in the order they run.
pub const CASES: &[&str] = &[
    "ordering: 1,000 messages each way arrive exactly once, in order (R-7.7)",
    "large messages: 60 KiB each way, fragmented and reassembled (R-6.1, R-6.3)",
    "confirmations: the number send returns comes back confirmed (R-7.2)",
    "close: everything sent before close arrives, and send after close fails",
    "dead peer: a silent peer is declared gone (R-7.9)",
];

/// Every wait in the suite is bounded, so a broken transport fails rather than hangs.
const PATIENCE: Duration = Duration::from_secs(30);

fn message(from: &str, text: String) -> Message {
    let from = Name::new(from).unwrap_or_default();
    Message::new(
        Verb::PRIVATE_MESSAGE,
        from,
        Name::new("peer").unwrap_or_default(),
        text,
    )
}

/// The next message, skipping confirmations; an error for anything else.
async fn next_message<T: Transport>(transport: &mut T) -> Result<Message, String> {
    loop {
        match tokio::time::timeout(PATIENCE, transport.recv()).await {
            Err(_) => return Err(format!("nothing arrived in {PATIENCE:?}")),
            Ok(Err(error)) => return Err(format!("recv failed: {error}")),
            Ok(Ok(None)) => return Err("closed early".into()),
            Ok(Ok(Some(Incoming::Confirmed(_)))) => continue,
            Ok(Ok(Some(Incoming::Message(message)))) => return Ok(message),
        }
    }
}

/// Sends `count` numbered messages from `sender` while `receiver` checks each arrives once, in order.
async fn one_way<A: Transport, B: Transport>(
    sender: &mut A,
    receiver: &mut B,
    who: &str,
    count: u32,
) -> Result<(), String> {
    let send = async {
        for i in 0..count {
            sender
                .send(message(who, format!("{who} {i}")))
                .await
                .map_err(|e| format!("send {i}: {e}"))?;
        }
        Ok::<_, String>(())
    };
    let receive = async {
        for i in 0..count {
            let got = next_message(receiver).await?;
            let want = format!("{who} {i}");
            if got.text != want {
                return Err(format!("expected {want:?}, got {:?}", got.text));
            }
        }
        Ok(())
    };
    let (sent, received) = tokio::join!(send, receive);
    sent.and(received)
}

fn outcome(result: Result<(), String>) -> Outcome {
    match result {
        Ok(()) => Outcome::Pass,
        Err(why) => Outcome::Fail(why),
    }
}

pub(super) async fn ordering<H: TransportHarness>(harness: &mut H) -> Outcome {
    let (mut client, mut server) = harness.connect().await;
    let result = async {
        one_way(&mut client, &mut server, "client", 1000).await?;
        one_way(&mut server, &mut client, "server", 1000).await
    };
    outcome(result.await)
}

pub(super) async fn large_messages<H: TransportHarness>(harness: &mut H) -> Outcome {
    let (mut client, mut server) = harness.connect().await;
    let result = async {
        // Multi-byte characters, so a split inside one would show.
        let big: String = "ünïcødé ".chars().cycle().take(60 * 1024 / 2).collect();
        client
            .send(message("client", big.clone()))
            .await
            .map_err(|e| e.to_string())?;
        let got = next_message(&mut server).await?;
        if got.text != big {
            return Err(format!(
                "client → server: {} bytes sent, {} came back different",
                big.len(),
                got.text.len()
            ));
        }
        server
            .send(message("server", big.clone()))
            .await
            .map_err(|e| e.to_string())?;
        let got = next_message(&mut client).await?;
        if got.text != big {
            return Err("server → client: the message came back different".into());
        }
        Ok(())
    };
    outcome(result.await)
}

pub(super) async fn confirmations<H: TransportHarness>(harness: &mut H) -> Outcome {
    let (mut client, mut server) = harness.connect().await;
    let result = async {
        let number = client
            .send(message("client", "confirm me".into()))
            .await
            .map_err(|e| e.to_string())?;
        next_message(&mut server).await?;
        loop {
            match tokio::time::timeout(PATIENCE, client.recv()).await {
                Ok(Ok(Some(Incoming::Confirmed(n)))) if n == number => return Ok(()),
                Ok(Ok(Some(_))) => continue,
                other => return Err(format!("waiting for CONFIRM {number}: {other:?}")),
            }
        }
    };
    outcome(result.await)
}

pub(super) async fn close<H: TransportHarness>(harness: &mut H) -> Outcome {
    let (mut client, mut server) = harness.connect().await;
    let result = async {
        for i in 0..50 {
            client
                .send(message("client", format!("last words {i}")))
                .await
                .map_err(|e| e.to_string())?;
        }
        tokio::time::timeout(PATIENCE, client.close())
            .await
            .map_err(|_| "close did not finish".to_string())?
            .map_err(|e| format!("close failed: {e}"))?;
        for i in 0..50 {
            let got = next_message(&mut server).await?;
            if got.text != format!("last words {i}") {
                return Err(format!("message {i} after close: {:?}", got.text));
            }
        }
        match client.send(message("client", "too late".into())).await {
            Err(TransportError::Closed) | Err(TransportError::Send(_)) => Ok(()),
            other => Err(format!("send after close: {other:?}")),
        }
    };
    outcome(result.await)
}

pub(super) async fn dead_peer<H: TransportHarness>(harness: &mut H) -> Outcome {
    let limit = harness.dead_after() * 4;
    let Some(mut client) = harness.connect_to_silent_peer().await else {
        return Outcome::Skip;
    };
    let result = async {
        // Sending may fail already if the session has given up; either way the end must be PeerGone.
        let _ = client.send(message("client", "anyone there?".into())).await;
        loop {
            match tokio::time::timeout(limit, client.recv()).await {
                Err(_) => return Err(format!("no verdict within {limit:?}")),
                Ok(Err(TransportError::Session(_))) => return Ok(()),
                Ok(Ok(Some(_))) => continue,
                other => return Err(format!("expected the peer declared gone, got {other:?}")),
            }
        }
    };
    outcome(result.await)
}
