//! The client libraries (`clients/`), each run by its own language against this stack:
//! its unit tests, then its live tests (an endpoint made, an order caused, the delivery
//! received and verified with the library's helpers, lists paged, errors, a lost answer
//! retried with its Idempotency-Key, signed requests, a rate limit). Their packages are
//! built and installed by `tests/packages.rs`, a test binary of its own, so that those
//! builds never share the CPU with the timing-sensitive tests here.

use super::common::{library, live, run};

#[tokio::test]
async fn the_ruby_gem_works_as_the_original_docs_write_it() {
    let dir = library("ruby");
    let (stack, env) = live("ruby-gem@example.com").await;
    let unit = run(&dir, "ruby", &["-Ilib", "test/unit_test.rb"], &[]).await;
    let live = run(&dir, "ruby", &["-Ilib", "test/live_test.rb"], &env).await;
    println!("ruby unit: {}", unit.lines().last().unwrap_or_default());
    println!("ruby live: {}", live.lines().last().unwrap_or_default());
    drop(stack);
}

#[tokio::test]
async fn the_python_package_works_against_the_stack() {
    let dir = library("python");
    let (stack, env) = live("python-package@example.com").await;
    let unit = run(
        &dir,
        "python3",
        &["-m", "unittest", "tests/test_unit.py"],
        &[],
    )
    .await;
    let live = run(
        &dir,
        "python3",
        &["-m", "unittest", "-v", "tests/test_live.py"],
        &env,
    )
    .await;
    println!(
        "python unit: {}",
        unit.lines().rfind(|l| !l.is_empty()).unwrap_or_default()
    );
    println!(
        "python live: {}",
        live.lines().rfind(|l| !l.is_empty()).unwrap_or_default()
    );
    drop(stack);
}

#[tokio::test]
async fn the_typescript_package_works_against_the_stack() {
    let dir = library("typescript");
    assert!(
        dir.join("node_modules/typescript").exists(),
        "clients/typescript has no node_modules: `make client-tools` (or npm ci there) installs its compiler"
    );
    let (stack, env) = live("typescript-package@example.com").await;
    run(
        &dir,
        "node",
        &["node_modules/typescript/bin/tsc", "-p", "."],
        &[],
    )
    .await;
    let unit = run(&dir, "node", &["--test", "dist/test/unit.test.js"], &[]).await;
    let live = run(&dir, "node", &["--test", "dist/test/live.test.js"], &env).await;
    let summary = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("# pass") || l.starts_with("# fail"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("typescript unit: {}", summary(&unit));
    println!("typescript live: {}", summary(&live));
    drop(stack);
}

/// A proxy to `upstream` that forwards every request and loses the answer to the first
/// POST (the connection closes), as a network would: its address, and each POST's
/// `Idempotency-Key`.
async fn lossy_proxy(upstream: String) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let keys = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = keys.clone();
    tokio::spawn(async move {
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(shared::tls::delivery_config())
            .build()
            .unwrap();
        while let Ok((mut socket, _)) = listener.accept().await {
            let (http, upstream, seen) = (http.clone(), upstream.clone(), seen.clone());
            tokio::spawn(async move {
                let mut raw = Vec::new();
                let mut buffer = [0u8; 8192];
                let (head, body) = loop {
                    let n = socket.read(&mut buffer).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    raw.extend_from_slice(&buffer[..n]);
                    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&raw[..end]).to_string();
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if raw.len() >= end + 4 + length {
                        break (head, raw[end + 4..end + 4 + length].to_vec());
                    }
                };
                let mut lines = head.lines();
                let mut first = lines.next().unwrap_or_default().split(' ');
                let (method, path) = (first.next().unwrap_or("GET"), first.next().unwrap_or("/"));
                let mut request =
                    http.request(method.parse().unwrap(), format!("{upstream}{path}"));
                let mut key = None;
                for line in lines {
                    if let Some((name, value)) = line.split_once(':') {
                        let (name, value) = (name.trim(), value.trim());
                        if name.eq_ignore_ascii_case("idempotency-key") {
                            key = Some(value.to_string());
                        }
                        if !name.eq_ignore_ascii_case("host")
                            && !name.eq_ignore_ascii_case("content-length")
                        {
                            request = request.header(name, value);
                        }
                    }
                }
                let answer = request.body(body).send().await.unwrap();
                let status = answer.status().as_u16();
                let headers = answer.headers().clone();
                let bytes = answer.bytes().await.unwrap();
                if method == "POST" {
                    let mut keys = seen.lock().unwrap();
                    keys.push(key.unwrap_or_default());
                    if keys.len() == 1 {
                        return; // made, never answered
                    }
                }
                let mut out = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                    bytes.len()
                );
                for (name, value) in &headers {
                    if !["content-length", "connection", "transfer-encoding"]
                        .contains(&name.as_str())
                    {
                        out.push_str(&format!(
                            "{name}: {}\r\n",
                            value.to_str().unwrap_or_default()
                        ));
                    }
                }
                out.push_str("\r\n");
                let _ = socket.write_all(out.as_bytes()).await;
                let _ = socket.write_all(&bytes).await;
            });
        }
    });
    (format!("http://{address}/api/v2"), keys)
}

#[tokio::test]
async fn the_rust_crate_works_against_the_stack() {
    use pushguard_client::{Client, ClientOptions, Error, webhooks};
    use serde_json::{Value, json};
    use std::time::{Duration, SystemTime};

    let (stack, env) = live("rust-crate@example.com").await;
    let base = env[0].1.clone();
    let options = ClientOptions::new(env[1].1.clone())
        .email(env[2].1.clone())
        .base(&base);
    let client = Client::new(options.clone()).unwrap();
    let receiver = harness::Receiver::start().await;

    // A delivery received and verified three ways, and its thin twin.
    let account = client.account().retrieve(&json!({})).await.unwrap();
    let endpoint = client
        .webhooks()
        .endpoints()
        .create(&json!({ "url": receiver.url("/hooks"), "events": ["order:created", "order:paid"], "signature_scheme": "both" }))
        .await
        .unwrap();
    let thin = client
        .webhooks()
        .endpoints()
        .create(
            &json!({ "url": receiver.url("/thin"), "events": ["order:paid"], "payload": "thin" }),
        )
        .await
        .unwrap();
    let order: Value = client
        .call("postPayments", &[], &json!({ "title": "PushGuard Pay Example", "gateway": "Bitcoin", "value": 10.0, "currency": "USD", "white_label": true, "email": "buyer@example.com" }))
        .await
        .unwrap();
    let order_id = order["id"].as_str().unwrap();
    client
        .orders()
        .update(order_id, &json!({ "status": 100 }))
        .await
        .unwrap();
    let full = harness::eventually("both deliveries", || async {
        let got = receiver.received("/hooks");
        (got.len() >= 2).then_some(got)
    })
    .await;
    let keys = webhooks::published_keys(&client, &account.id, Some("test"))
        .await
        .unwrap();
    let secret = endpoint.secret.clone().unwrap();
    for delivery in &full {
        let headers: Vec<(String, String)> = delivery.headers.clone().into_iter().collect();
        assert!(webhooks::valid_signature(
            &delivery.body,
            delivery.header("x-pushguard-signature"),
            &secret
        ));
        let event: Value =
            webhooks::verify(&delivery.body, &headers, &secret, SystemTime::now()).unwrap();
        assert_eq!(event["id"], order_id);
        let event: Value =
            webhooks::verify_v1a(&delivery.body, &headers, &keys, SystemTime::now()).unwrap();
        assert_eq!(event["id"], order_id);
        let forged = String::from_utf8_lossy(&delivery.body).replace(order_id, "ord_forged");
        assert!(matches!(
            webhooks::verify::<Value>(forged.as_bytes(), &headers, &secret, SystemTime::now()),
            Err(Error::Signature(_))
        ));
        let later = SystemTime::now() + Duration::from_secs(600);
        assert!(matches!(
            webhooks::verify::<Value>(&delivery.body, &headers, &secret, later),
            Err(Error::Signature(_))
        ));
    }
    let thin_delivery = harness::eventually("the thin delivery", || async {
        receiver.received("/thin").into_iter().next()
    })
    .await;
    let headers: Vec<(String, String)> = thin_delivery.headers.clone().into_iter().collect();
    let event: Value = webhooks::verify(
        &thin_delivery.body,
        &headers,
        thin.secret.as_deref().unwrap(),
        SystemTime::now(),
    )
    .unwrap();
    let current = webhooks::fetch_resource(&client, &event)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (current["id"].as_str(), current["status"].as_u64()),
        (Some(order_id), Some(100))
    );

    // Pages by number and by cursor.
    let mut made = Vec::new();
    for n in 0..5 {
        let product = client
            .products()
            .create(&json!({ "title": format!("Paged {n}"), "price": "1.00", "currency": "USD", "gateways": ["paypal"] }))
            .await
            .unwrap();
        made.push(product.id);
    }
    let first = client
        .products()
        .list(&json!({ "per_page": 2 }))
        .await
        .unwrap();
    assert_eq!(first.data.len(), 2);
    assert!(first.total_count.unwrap_or_default() >= 5);
    let every: Vec<String> = first
        .all()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert!(made.iter().all(|id| every.contains(id)));
    let by_cursor: Vec<String> = client
        .products()
        .list(&json!({ "per_page": 2, "starting_after": every[0] }))
        .await
        .unwrap()
        .all()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(by_cursor, every[1..]);

    // Errors with the API's message and each problem, in the caller's language.
    let refused = client.products().create(&json!({ "title": "x" })).await;
    let Err(Error::Api {
        status: 400,
        message,
        errors,
        ..
    }) = refused
    else {
        panic!("{refused:?}")
    };
    assert_eq!(message, "Validation failed");
    assert!(errors.contains(&"Title is too short (minimum is 2 characters)".to_string()));
    let spanish = Client::new(options.clone().language("es")).unwrap();
    let Err(Error::Api { errors, .. }) = spanish.products().create(&json!({ "title": "x" })).await
    else {
        panic!("accepted")
    };
    assert!(
        errors.contains(
            &"El campo title es demasiado corto (el mínimo es de 2 caracteres)".to_string()
        )
    );
    let missing = client
        .products()
        .retrieve("prd_01J00000000000000000000000", &json!({}))
        .await;
    assert_eq!(missing.err().and_then(|e| e.status()), Some(404));

    // A POST whose answer is lost: sent again with its key, made once.
    let (proxy, keys_seen) = lossy_proxy(stack.stack.base_url()).await;
    let before = client
        .categories()
        .list(&json!({ "per_page": 1 }))
        .await
        .unwrap()
        .total_count;
    let through = Client::new(options.clone().base(&proxy)).unwrap();
    let category = through
        .categories()
        .create(&json!({ "title": "Made once" }))
        .await
        .unwrap();
    let seen = keys_seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "the POST was sent twice");
    assert_eq!(seen[0], seen[1], "with one Idempotency-Key");
    let after = client
        .categories()
        .list(&json!({ "per_page": 1 }))
        .await
        .unwrap()
        .total_count;
    assert_eq!(after, before.map(|n| n + 1));
    assert_eq!(
        client
            .categories()
            .retrieve(&category.id, &json!({}))
            .await
            .unwrap()
            .title,
        "Made once"
    );

    // A signing key signs every request.
    let key: Value = client
        .call("postAccountKeys", &[], &json!({ "name": "signed", "scopes": ["account:read"], "mode": "test", "require_signed": true }))
        .await
        .unwrap();
    let signing = ClientOptions::new(key["key"].as_str().unwrap()).base(&base);
    let signed = Client::new(
        signing
            .clone()
            .signing_secret(key["signing_secret"].as_str().unwrap()),
    )
    .unwrap();
    assert_eq!(
        signed.account().retrieve(&json!({})).await.unwrap().id,
        account.id
    );
    let unsigned = Client::new(signing)
        .unwrap()
        .account()
        .retrieve(&json!({}))
        .await;
    assert_eq!(unsigned.err().and_then(|e| e.status()), Some(401));

    // A rate limit: raised with Retry-After, or waited out.
    let limited = client
        .webhooks()
        .endpoints()
        .create(&json!({ "url": receiver.url("/limited"), "events": ["order:paid"] }))
        .await
        .unwrap();
    let impatient = Client::new(options.clone().max_retries(0)).unwrap();
    let mut raised = None;
    for _ in 0..10 {
        if let Err(error) = impatient
            .webhooks()
            .endpoints()
            .test(&limited.id, &json!({}))
            .await
        {
            raised = Some(error);
            break;
        }
    }
    let Some(Error::Api {
        status: 429,
        retry_after: Some(_),
        ..
    }) = raised
    else {
        panic!("no 429: {raised:?}")
    };
    client
        .webhooks()
        .endpoints()
        .test(&limited.id, &json!({}))
        .await
        .unwrap();
    println!(
        "rust live: deliveries verified 3 ways, pages, errors, idempotency, signing, rate limit"
    );
    drop(stack);
}
