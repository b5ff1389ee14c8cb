//! The SSRF guard of outbound deliveries, where the connection is made. URLs to private
//! hosts are refused when saved too (see endpoints.rs); this pins the second line: a
//! name that resolves to a private address (as a rebinding DNS answer would) or a
//! literal address is never connected to when private targets are not allowed.

use harness::Receiver;
use shared::webhooks::outbound::Outbound;
use std::time::Duration;
use url::Url;

fn port_of(receiver: &Receiver) -> u16 {
    Url::parse(&receiver.base).unwrap().port().unwrap()
}

#[tokio::test]
async fn private_targets_are_refused_at_connect_time() {
    let receiver = Receiver::start().await;
    let port = port_of(&receiver);
    let guarded = Outbound::new(Duration::from_secs(2), false);
    for target in [
        format!("http://localhost:{port}/resolved"),
        format!("http://127.0.0.1:{port}/literal"),
        format!("http://[::ffff:127.0.0.1]:{port}/mapped"),
        format!("http://[::1]:{port}/v6"),
        "http://169.254.169.254/latest/meta-data".to_string(),
        "http://10.0.0.1/internal".to_string(),
    ] {
        let attempt = guarded
            .post(&Url::parse(&target).unwrap(), &[], b"{}".to_vec())
            .await;
        assert_eq!(attempt.status, None, "{target} must not be reached");
        assert!(
            attempt.body.contains("non-global") || attempt.body.contains("private"),
            "{target}: {}",
            attempt.body
        );
    }
    for path in ["/resolved", "/literal", "/mapped", "/v6"] {
        assert!(receiver.received(path).is_empty(), "{path} was reached");
    }
}

#[tokio::test]
async fn private_targets_are_reached_where_they_are_allowed() {
    let receiver = Receiver::start().await;
    let open = Outbound::new(Duration::from_secs(2), true);
    let url = Url::parse(&format!("http://localhost:{}/local", port_of(&receiver))).unwrap();
    let attempt = open
        .post(
            &url,
            &[("content-type".into(), "application/json".into())],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(attempt.status, Some(200));
    assert_eq!(receiver.received("/local").len(), 1);
}

/// A listener that counts the connections it accepts (a connection is already a leak,
/// before any HTTP is spoken).
async fn counting_listener() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(socket);
        }
    });
    (port, accepted)
}

/// Every way to write a loopback, private, link-local or tunnelled address that the
/// URL parser accepts.
const HOSTILE_HOSTS: [&str; 22] = [
    "localhost",
    "LOCALHOST",
    "localhost.",
    "api.localhost",
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0x7f.0.0.1",
    "0177.0.0.1",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:127.0.0.1]",
    "[::ffff:0:7f00:1]",
    "[2002:7f00:1::1]",
    "[2001:0:4136:e378:8000:63bf:80ff:fffe]",
    "[fec0::1]",
    "[64:ff9b:1::a9fe:a9fe]",
    "169.254.169.254",
    "0251.0376.0251.0376",
    "[fd00:ec2::254]",
];

#[test]
fn every_notation_of_a_private_host_is_refused_at_save_time() {
    use shared::webhooks::WebhookUrl;
    for host in HOSTILE_HOSTS {
        let url = format!("https://{host}/hook");
        assert!(
            WebhookUrl::parse(&url, false).is_err(),
            "{url} must be refused"
        );
    }
    assert!(WebhookUrl::parse("https://hooks.example.com/hook", false).is_ok());
}

#[tokio::test]
async fn no_notation_reaches_a_listener_at_connect_time() {
    let (port, accepted) = counting_listener().await;
    let guarded = Outbound::new(Duration::from_secs(2), false);
    for host in HOSTILE_HOSTS {
        let url = Url::parse(&format!("http://{host}:{port}/probe")).unwrap();
        let attempt = guarded.post(&url, &[], b"{}".to_vec()).await;
        assert_eq!(attempt.status, None, "{url} was answered");
    }
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no notation opened a connection"
    );
    // The listener does count: an allowed client reaches it.
    let open = Outbound::new(Duration::from_secs(2), true);
    let url = Url::parse(&format!("http://127.0.0.1:{port}/probe")).unwrap();
    drop(open.post(&url, &[], b"{}".to_vec()).await);
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}
