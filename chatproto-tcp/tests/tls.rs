//! TLS over TCP (feature `tls`): frames round-trip inside TLS; an untrusted certificate, a client that
//! does not speak TLS and a client that stalls its handshake each fail alone, and the listener goes on
//! accepting others (PROTOCOL.md §9.1, R-9.8).

use std::sync::Arc;
use std::time::Duration;

use chatproto::transport::{Incoming, Listener, SessionTransport, Transport, TransportError};
use chatproto::{Message, Name, Verb};
use chatproto_tcp::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use chatproto_tcp::rustls::{self, CertificateError, ClientConfig, RootCertStore, ServerConfig};
use chatproto_tcp::{connect, connect_tls, HandshakeError, TcpChatListener, TcpOptions};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// A bound on every wait, so a failure ends the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(10);

/// A self-signed certificate for `localhost` and 127.0.0.1, and its key.
fn certificate() -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let generated = rcgen::generate_simple_self_signed(names).expect("rcgen makes a certificate");
    let key = PrivateKeyDer::try_from(generated.signing_key.serialize_der()).expect("a PKCS#8 key");
    (generated.cert.der().clone(), key)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn server_config(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> Arc<ServerConfig> {
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("the key matches the certificate");
    Arc::new(config)
}

/// A client that trusts `cert` (a self-signed certificate is its own issuer).
fn client_trusting(cert: CertificateDer<'static>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(cert).unwrap();
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

fn localhost() -> ServerName<'static> {
    ServerName::try_from("localhost").unwrap()
}

async fn tls_listener(options: TcpOptions) -> (TcpChatListener, CertificateDer<'static>) {
    let (cert, key) = certificate();
    let listener = TcpChatListener::bind_tls(
        "127.0.0.1:0".parse().unwrap(),
        options,
        server_config(cert.clone(), key),
    )
    .await
    .unwrap();
    (listener, cert)
}

fn message(text: &str) -> Message {
    Message::new(Verb::BROADCAST, Name::new("ann").unwrap(), Name::ALL, text)
}

/// The next whole message, skipping confirmations.
async fn next_message(transport: &mut SessionTransport) -> Message {
    let wait = async {
        loop {
            match transport.recv().await {
                Ok(Some(Incoming::Message(message))) => return message,
                Ok(Some(Incoming::Confirmed(_))) => {}
                other => panic!("expected a message, got {other:?}"),
            }
        }
    };
    tokio::time::timeout(PATIENCE, wait)
        .await
        .expect("a message in time")
}

/// Sends one message each way between `client` and the `server` side of its connection.
async fn round_trip(client: &mut SessionTransport, server: &mut SessionTransport) {
    client.send(message("over TLS")).await.unwrap();
    assert_eq!(next_message(server).await.text, "over TLS");
    server.send(message("and back")).await.unwrap();
    assert_eq!(next_message(client).await.text, "and back");
}

/// Accepts the next connection in a task of its own, so that handshakes go on while the test acts as
/// client; hands the listener back with the result.
fn accept_in_background(
    mut listener: TcpChatListener,
) -> tokio::task::JoinHandle<(TcpChatListener, Result<SessionTransport, TransportError>)> {
    tokio::spawn(async move {
        let accepted = tokio::time::timeout(PATIENCE, listener.accept())
            .await
            .expect("accept returns in time");
        (listener, accepted)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_round_trip_over_tls() {
    let (listener, cert) = tls_listener(TcpOptions::default()).await;
    assert!(listener.is_tls());
    let addr = listener.local_addr().unwrap();
    let accepting = accept_in_background(listener);
    let mut client = connect_tls(
        addr,
        TcpOptions::default(),
        client_trusting(cert),
        localhost(),
    )
    .await
    .expect("TLS connect");
    let (_listener, accepted) = accepting.await.unwrap();
    let mut server = accepted.expect("the handshake succeeds");
    assert_eq!(server.peer_addr().map(|a| a.ip()), Some(addr.ip()));
    round_trip(&mut client, &mut server).await;
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_listener_is_not_tls() {
    let listener = TcpChatListener::bind("127.0.0.1:0".parse().unwrap(), TcpOptions::default())
        .await
        .unwrap();
    assert!(!listener.is_tls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_fails_the_client_clearly() {
    let (listener, cert) = tls_listener(TcpOptions::default()).await;
    let addr = listener.local_addr().unwrap();
    let accepting = accept_in_background(listener);

    // The client trusts some other certificate, not the server's.
    let (stranger, _) = certificate();
    let error = connect_tls(
        addr,
        TcpOptions::default(),
        client_trusting(stranger),
        localhost(),
    )
    .await
    .expect_err("an untrusted certificate is refused");
    let handshake = HandshakeError::find(&error).expect("a handshake error");
    assert_eq!(handshake.peer(), addr);
    assert!(!handshake.is_timeout());
    // Both certificates have rcgen's subject, so the check fails at the signature rather than at
    // finding an issuer; either way it is the certificate that is refused.
    assert!(
        matches!(
            handshake.tls_error(),
            Some(rustls::Error::InvalidCertificate(
                CertificateError::BadSignature | CertificateError::UnknownIssuer
            ))
        ),
        "{handshake}"
    );
    let text = error.to_string();
    assert!(
        text.contains("TLS handshake with") && text.contains("invalid peer certificate"),
        "{text}"
    );

    // The right certificate for the wrong name fails too.
    let error = connect_tls(
        addr,
        TcpOptions::default(),
        client_trusting(cert.clone()),
        ServerName::try_from("chat.example.org").unwrap(),
    )
    .await
    .expect_err("a certificate for another name is refused");
    assert!(
        matches!(
            HandshakeError::find(&error).and_then(HandshakeError::tls_error),
            Some(rustls::Error::InvalidCertificate(_))
        ),
        "{error}"
    );

    // Neither failure came out of accept: the next client is served.
    let mut client = connect_tls(
        addr,
        TcpOptions::default(),
        client_trusting(cert),
        localhost(),
    )
    .await
    .expect("a trusting client connects");
    let (_listener, accepted) = accepting.await.unwrap();
    round_trip(&mut client, &mut accepted.expect("accepted")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plaintext_client_fails_cleanly_and_others_are_still_accepted() {
    let (listener, cert) = tls_listener(TcpOptions::default()).await;
    let addr = listener.local_addr().unwrap();
    let accepting = accept_in_background(listener);

    // A chatproto client without TLS: its first frame is not a TLS record.
    let mut plain = connect(addr, TcpOptions::default())
        .await
        .expect("TCP connects");
    // The send may be refused already if the server has hung up; either way nothing comes back.
    let _ = plain.send(message("hello?")).await;
    let ended = async {
        loop {
            match plain.recv().await {
                Ok(Some(Incoming::Confirmed(_))) => {}
                other => return other,
            }
        }
    };
    let ended = tokio::time::timeout(PATIENCE, ended)
        .await
        .expect("the plaintext client is cut off in time");
    assert!(
        !matches!(ended, Ok(Some(Incoming::Message(_)))),
        "{ended:?}"
    );

    let mut client = connect_tls(
        addr,
        TcpOptions::default(),
        client_trusting(cert),
        localhost(),
    )
    .await
    .expect("a TLS client connects after the plaintext one");
    let (_listener, accepted) = accepting.await.unwrap();
    round_trip(
        &mut client,
        &mut accepted.expect("the TLS client, not an error"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_handshake_does_not_hold_up_others() {
    // Far longer than the client below waits: were handshakes done one at a time in accept, the silent
    // connection would hold up the next one past the client's limit.
    let options = TcpOptions {
        handshake_timeout: Duration::from_secs(600),
        ..TcpOptions::default()
    };
    let (listener, cert) = tls_listener(options).await;
    let addr = listener.local_addr().unwrap();
    let accepting = accept_in_background(listener);

    // Connects and says nothing: its handshake never starts. It is first in the accept queue.
    let _silent = TcpStream::connect(addr).await.unwrap();

    let within = TcpOptions {
        connect_timeout: PATIENCE,
        ..TcpOptions::default()
    };
    let mut client = connect_tls(addr, within, client_trusting(cert), localhost())
        .await
        .expect("served while the silent one stalls");
    let (_listener, accepted) = accepting.await.unwrap();
    round_trip(&mut client, &mut accepted.expect("accepted")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_handshake_times_out() {
    let options = TcpOptions {
        handshake_timeout: Duration::from_millis(300),
        ..TcpOptions::default()
    };
    let (listener, _) = tls_listener(options).await;
    let addr = listener.local_addr().unwrap();
    let accepting = accept_in_background(listener);

    let mut silent = TcpStream::connect(addr).await.unwrap();
    // Past the handshake timeout the server hangs up: end of stream or a reset. The listener is still
    // open (accept is waiting), so it is the timeout that closes the connection, not the listener going
    // away.
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(PATIENCE, silent.read(&mut buf))
        .await
        .expect("the server closes the stalled connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(
        !accepting.is_finished(),
        "a failed handshake is not accepted"
    );
    accepting.abort();
}
