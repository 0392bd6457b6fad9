//! The `chat-server` binary with `--tls-cert`/`--tls-key`: passwords go over TLS and are refused over
//! plain TCP and UDP (PROTOCOL.md ); clients trust the server by a CA file or a pinned certificate,
//! and refuse any other (§9.1).

#[path = "support/tls.rs"]
mod tls_support;

use chatproto::transport::{Incoming, SessionTransport, Transport};
use chatproto::{Dialect, Message, Name, Verb};
use chatproto_tcp::{HandshakeError, TcpOptions};
use chatproto_udp::UdpOptions;
use tls_support::{
    args, connect_tls, expect_message, run_client, self_signed, self_signed_marked_as_ca,
    ServerChild, TestCertificate, PATIENCE,
};

fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

/// A server with TLS on TCP (and plain UDP), without --allow-plaintext-passwords.
fn tls_server(cert: &TestCertificate) -> ServerChild {
    ServerChild::start(&args([
        "--tls-cert".as_ref(),
        cert.cert.as_os_str(),
        "--tls-key".as_ref(),
        cert.key.as_os_str(),
    ]))
}

/// Sends `verb` (REGISTER or AUTH) with a password; returns the server's answer: the LOGIN notice for
/// `who` or ERROR.
async fn log_in(transport: &mut SessionTransport, verb: Verb, who: &str) -> Message {
    transport
        .send(Message::new(verb, name(who), Name::SERVER, "s3cret pw"))
        .await
        .expect("sent");
    expect_message(transport, &format!("the answer to {verb} {who}"), |m| {
        (m.verb == Verb::LOGIN && m.from == name(who)) || m.verb == Verb::ERROR
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_go_over_tls_and_are_refused_over_udp() {
    let dir = tempfile::tempdir().unwrap();
    let cert = self_signed(dir.path(), "server");
    let server = tls_server(&cert);

    // over UDP (no confidentiality) REGISTER is answered with ERROR, and nothing is stored.
    let mut udp = chatproto_udp::connect(server.udp, UdpOptions::default())
        .await
        .expect("udp connect");
    let answer = log_in(&mut udp, Verb::REGISTER, "ann").await;
    assert_eq!(answer.verb, Verb::ERROR, "REGISTER over UDP: {answer:?}");
    let answer = log_in(&mut udp, Verb::AUTH, "ann").await;
    assert_eq!(answer.verb, Verb::ERROR, "AUTH over UDP: {answer:?}");

    // Over TLS the same REGISTER works: the refused one left no account behind.
    let mut tls = connect_tls(server.tcp, &cert.der)
        .await
        .expect("TLS connect");
    let answer = log_in(&mut tls, Verb::REGISTER, "ann").await;
    assert_eq!(answer.verb, Verb::LOGIN, "REGISTER over TLS: {answer:?}");
    assert_eq!(answer.text, "ann has connected.");
    tls.close().await.expect("closed cleanly");

    // And the account works over TLS again, with AUTH.
    let mut again = connect_tls(server.tcp, &cert.der)
        .await
        .expect("TLS connect");
    let answer = log_in(&mut again, Verb::AUTH, "ann").await;
    assert_eq!(answer.verb, Verb::LOGIN, "AUTH over TLS: {answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_over_plain_tcp_are_refused() {
    // without TLS and without --allow-plaintext-passwords, TCP carries no passwords.
    let server = ServerChild::start(&[]);
    let options = TcpOptions {
        dialect: Dialect::V5,
        ..TcpOptions::default()
    };
    let mut tcp = chatproto_tcp::connect(server.tcp, options)
        .await
        .expect("tcp connect");
    let answer = log_in(&mut tcp, Verb::REGISTER, "bob").await;
    assert_eq!(answer.verb, Verb::ERROR, "REGISTER over TCP: {answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plaintext_client_on_the_tls_port_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let cert = self_signed(dir.path(), "server");
    let server = tls_server(&cert);

    let mut plain = chatproto_tcp::connect(server.tcp, TcpOptions::default())
        .await
        .expect("TCP connects");
    let _ = plain
        .send(Message::new(Verb::LOGIN, name("eve"), Name::SERVER, ""))
        .await;
    let ended = tokio::time::timeout(PATIENCE, async {
        loop {
            match plain.recv().await {
                Ok(Some(Incoming::Confirmed(_))) => {}
                other => return other,
            }
        }
    })
    .await
    .expect("cut off in time");
    assert!(
        !matches!(ended, Ok(Some(Incoming::Message(_)))),
        "{ended:?}"
    );

    // The chat-client says what is probably wrong.
    let tcp = server.tcp.to_string();
    let run = run_client(&args(["--server", &tcp, "--name", "eve"]), "").await;
    assert_eq!(run.code, Some(3), "{run:#?}");
    assert!(run.stdout.contains("connect with --tls"), "{run:#?}");

    // The server goes on serving TLS clients.
    let mut tls = connect_tls(server.tcp, &cert.der)
        .await
        .expect("TLS connect");
    let answer = log_in(&mut tls, Verb::REGISTER, "ann").await;
    assert_eq!(answer.verb, Verb::LOGIN, "{answer:?}\n{}", server.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_client_registers_over_tls_with_a_pinned_certificate_or_a_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let cert = self_signed(dir.path(), "server");
    let server = tls_server(&cert);
    let tcp = server.tcp.to_string();

    let pinned = run_client(
        &args([
            "--server".as_ref(),
            tcp.as_ref(),
            "--tls".as_ref(),
            "--pin-cert".as_ref(),
            cert.cert.as_os_str(),
            "--name".as_ref(),
            "ann".as_ref(),
            "--password".as_ref(),
            "pw".as_ref(),
            "--register".as_ref(),
        ]),
        "",
    )
    .await;
    assert_eq!(pinned.code, Some(0), "{pinned:#?}");
    assert!(
        pinned.stdout.lines().any(|l| l == "* ann has connected."),
        "{pinned:#?}"
    );
    assert!(!pinned.stderr.contains("warning"), "{pinned:#?}");

    // The certificate as a trust anchor, checked for the host of --server (an IP address).
    let by_ca = run_client(
        &args([
            "--server".as_ref(),
            tcp.as_ref(),
            "--tls".as_ref(),
            "--ca".as_ref(),
            cert.cert.as_os_str(),
            "--name".as_ref(),
            "ann".as_ref(),
            "--password".as_ref(),
            "pw".as_ref(),
        ]),
        "",
    )
    .await;
    assert_eq!(by_ca.code, Some(0), "{by_ca:#?}");
    assert!(
        by_ca.stdout.lines().any(|l| l == "* ann has connected."),
        "{by_ca:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_client_warns_before_a_password_over_udp_and_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cert = self_signed(dir.path(), "server");
    let server = tls_server(&cert);
    let udp = server.udp.to_string();

    let run = run_client(
        &args([
            "--server",
            &udp,
            "--udp",
            "--name",
            "bob",
            "--password",
            "pw",
            "--register",
        ]),
        "",
    )
    .await;
    assert!(
        run.stderr
            .contains("warning: sending a password without TLS (to "),
        "{run:#?}"
    );
    // refused, so a script exits 1.
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(run.stdout.contains("! error: "), "{run:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_pinning_another_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cert = self_signed(dir.path(), "server");
    let other = self_signed(dir.path(), "other");
    let server = tls_server(&cert);
    let tcp = server.tcp.to_string();

    let run = run_client(
        &args([
            "--server".as_ref(),
            tcp.as_ref(),
            "--tls".as_ref(),
            "--pin-cert".as_ref(),
            other.cert.as_os_str(),
            "--name".as_ref(),
            "ann".as_ref(),
        ]),
        "",
    )
    .await;
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.stderr.contains("is not the one in") && run.stderr.contains("other-cert.pem"),
        "{run:#?}"
    );
    assert!(!run.stdout.contains("has connected"), "{run:#?}");

    // A name the certificate does not carry is refused too.
    let run = run_client(
        &args([
            "--server".as_ref(),
            tcp.as_ref(),
            "--tls".as_ref(),
            "--ca".as_ref(),
            cert.cert.as_os_str(),
            "--tls-name".as_ref(),
            "chat.example.org".as_ref(),
            "--name".as_ref(),
            "ann".as_ref(),
        ]),
        "",
    )
    .await;
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.stderr.contains("not trusted by") && run.stderr.contains("chat.example.org"),
        "{run:#?}"
    );

    // The library client that trusts another certificate fails with a handshake error.
    let error = connect_tls(server.tcp, &other.der)
        .await
        .expect_err("another certificate is not trusted");
    assert!(HandshakeError::find(&error).is_some(), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_marked_as_a_ca_can_be_pinned_but_not_used_as_a_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let cert = self_signed_marked_as_ca(dir.path(), "server");
    let server = tls_server(&cert);
    let tcp = server.tcp.to_string();
    let client = |trust: &str| {
        args([
            "--server".as_ref(),
            tcp.as_ref(),
            "--tls".as_ref(),
            trust.as_ref(),
            cert.cert.as_os_str(),
            "--name".as_ref(),
            "ann".as_ref(),
        ])
    };

    // A CA's certificate cannot be a server's own (webpki); the client says what to do instead.
    let run = run_client(&client("--ca"), "").await;
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.stderr.contains("marked as a CA") && run.stderr.contains("--pin-cert"),
        "{run:#?}"
    );

    let run = run_client(&client("--pin-cert"), "").await;
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert!(
        run.stdout.lines().any(|l| l == "* ann has connected."),
        "{run:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_key_file_stops_the_server_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cert = self_signed(dir.path(), "server");
    let missing = dir.path().join("missing-key.pem");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .args(["--memory", "--tcp", "127.0.0.1:0", "--no-udp", "--tls-cert"])
        .arg(&cert.cert)
        .arg("--tls-key")
        .arg(&missing)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("chat-server starts");
    let output = tokio::time::timeout(PATIENCE, child.wait_with_output())
        .await
        .expect("chat-server gives up at once")
        .expect("chat-server ran");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot start") && stderr.contains("missing-key.pem"),
        "{stderr}"
    );
}
