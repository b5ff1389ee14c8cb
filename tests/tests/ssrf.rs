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
