//! Accounts, API keys and authentication, over HTTP against moto.

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use harness::{TestStack, client::NewKey, expect, status_and_json};
use reqwest::Method;
use serde_json::json;
use shared::auth::request_signature;

#[tokio::test]
async fn health_needs_no_key() {
    let stack = TestStack::start().await;
    let body = expect(
        stack
            .anonymous(Method::GET, "/health")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn account_shows_email_id_and_the_mode_of_the_key_used() {
    let stack = TestStack::start().await;
    let acct = stack.account("shop@example.com").await;
    let live = stack.api(&acct.live_key).account().get().await;
    assert_eq!(
        (live.id.as_str(), live.email.as_str(), live.mode.as_str()),
        (acct.id.as_str(), "shop@example.com", "live")
    );
    assert_eq!(
        live.key.scopes,
        ["*"],
        "the account's own keys can do everything"
    );
    let test = stack.api(&acct.test_key).account().get().await;
    assert_eq!(test.mode, "test");
    assert_ne!(test.key.id, live.key.id);
}

#[tokio::test]
async fn every_credential_form_authenticates() {
    let stack = TestStack::start().await;
    let acct = stack.account("forms@example.com").await;
    let basic = BASE64.encode(format!("{}:{}", acct.email, acct.test_key));
    for request in [
        stack
            .anonymous(Method::GET, "/account")
            .header("authorization", format!("Basic {basic}")),
        stack
            .anonymous(Method::GET, "/account")
            .header("authorization", format!("Bearer {}", acct.test_key)),
        stack
            .anonymous(Method::GET, "/account")
            .header("x-api-key", &acct.test_key),
    ] {
        expect(request.send().await.unwrap(), 200).await;
    }
}

#[tokio::test]
async fn bad_credentials_are_refused_with_401() {
    let stack = TestStack::start().await;
    let acct = stack.account("bad@example.com").await;
    let other = stack.account("other@example.com").await;
    let wrong_email = BASE64.encode(format!("{}:{}", other.email, acct.test_key));
    let unknown_key = "pg_test_0000000000000000000000000000";
    for request in [
        stack.anonymous(Method::GET, "/account"),
        stack
            .anonymous(Method::GET, "/account")
            .bearer_auth(unknown_key),
        stack
            .anonymous(Method::GET, "/account")
            .bearer_auth("not-a-key"),
        stack
            .anonymous(Method::GET, "/account")
            .header("authorization", format!("Basic {wrong_email}")),
        stack
            .anonymous(Method::GET, "/account")
            .header("authorization", "Basic %%%"),
        stack
            .anonymous(Method::GET, "/account")
            .header("authorization", format!("Token {}", acct.test_key)),
    ] {
        let (status, body) = status_and_json(request.send().await.unwrap()).await;
        assert_eq!(status, 401);
        assert_eq!(body, json!({ "message": "Unable to authenticate" }));
    }
}

async fn create_key(stack: &TestStack, key: &str, body: serde_json::Value) -> NewKey {
    stack.api(key).account().create_key(body).await
}

#[tokio::test]
async fn created_keys_are_shown_once_and_work_with_their_scopes() {
    let stack = TestStack::start().await;
    let acct = stack.account("keys@example.com").await;
    let created = create_key(
        &stack,
        &acct.test_key,
        json!({ "name": "reader", "scopes": ["webhooks:read"] }),
    )
    .await;
    let key = created.key.as_str().to_string();
    assert!(key.starts_with("pg_test_"));
    assert_eq!(created.scopes, ["webhooks:read"]);
    expect(stack.get("/webhooks/endpoints", &key).await, 200).await;
    let (status, body) = status_and_json(
        stack
            .post(
                "/webhooks/endpoints",
                &key,
                json!({ "url": "https://example.com/h", "events": ["*"] }),
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (403, Some("You are not authorized to perform this action"))
    );
    stack
        .refuses(Method::GET, "/account", &key, None, 403)
        .await;

    let listed = expect(stack.get("/account/keys", &acct.test_key).await, 200).await;
    assert!(
        !listed.to_string().contains(&key),
        "lists never show secrets"
    );
    let listed = listed.as_array().unwrap();
    assert!(listed.iter().all(|k| k.get("key").is_none()));
    assert!(listed.iter().any(|k| k["id"] == created.id.as_str()));
}

#[tokio::test]
async fn key_creation_reports_every_invalid_field() {
    let stack = TestStack::start().await;
    let acct = stack.account("invalid@example.com").await;
    let body = stack
        .refuses(
            Method::POST,
            "/account/keys",
            &acct.test_key,
            json!({ "scopes": ["webhooks:admin", "*"], "mode": "prod" }),
            400,
        )
        .await;
    assert_eq!(body["message"], "Validation failed");
    let errors: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert_eq!(errors[0], "Name can't be blank");
    assert!(errors[1].contains("webhooks:admin"));
    assert!(errors[2].contains("Mode"));
}

#[tokio::test]
async fn keys_cannot_grant_more_than_they_hold() {
    let stack = TestStack::start().await;
    let acct = stack.account("escalate@example.com").await;
    let limited = create_key(
        &stack,
        &acct.live_key,
        json!({ "name": "ops", "scopes": ["account:write"] }),
    )
    .await;
    let limited = limited.key.as_str();
    stack
        .refuses(
            Method::POST,
            "/account/keys",
            limited,
            json!({ "name": "x", "scopes": ["*"] }),
            403,
        )
        .await;
    stack
        .refuses(
            Method::POST,
            "/account/keys",
            limited,
            json!({ "name": "x", "scopes": ["webhooks:read"] }),
            403,
        )
        .await;
    create_key(
        &stack,
        limited,
        json!({ "name": "x", "scopes": ["account:read"] }),
    )
    .await;
}

#[tokio::test]
async fn test_keys_cannot_touch_live_keys() {
    let stack = TestStack::start().await;
    let acct = stack.account("modes@example.com").await;
    stack
        .refuses(
            Method::POST,
            "/account/keys",
            &acct.test_key,
            json!({ "name": "x", "scopes": ["*"], "mode": "live" }),
            403,
        )
        .await;
    let live = create_key(
        &stack,
        &acct.live_key,
        json!({ "name": "live-only", "scopes": ["*"] }),
    )
    .await;
    let id = live.id.as_str();
    let test_view = stack.api(&acct.test_key).account().keys().await;
    assert!(test_view.iter().all(|k| k.mode == "test"), "{test_view:?}");
    stack
        .refuses(
            Method::DELETE,
            &format!("/account/keys/{id}"),
            &acct.test_key,
            None,
            404,
        )
        .await;
    // A live key may mint test keys.
    let test = create_key(
        &stack,
        &acct.live_key,
        json!({ "name": "t", "scopes": ["*"], "mode": "test" }),
    )
    .await;
    assert!(test.key.as_str().starts_with("pg_test_"));
}

#[tokio::test]
async fn revoked_keys_stop_working_and_others_keys_are_invisible() {
    let stack = TestStack::start().await;
    let acct = stack.account("revoke@example.com").await;
    let other = stack.account("neighbour@example.com").await;
    let created = create_key(
        &stack,
        &acct.test_key,
        json!({ "name": "temp", "scopes": ["*"] }),
    )
    .await;
    let (id, key) = (created.id.as_str(), created.key.as_str());
    expect(stack.get("/account", key).await, 200).await;
    stack
        .refuses(
            Method::DELETE,
            &format!("/account/keys/{id}"),
            &other.test_key,
            None,
            404,
        )
        .await;
    let response = stack
        .delete(&format!("/account/keys/{id}"), &acct.test_key)
        .await;
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    stack.refuses(Method::GET, "/account", key, None, 401).await;
    stack
        .refuses(
            Method::DELETE,
            &format!("/account/keys/{id}"),
            &acct.test_key,
            None,
            404,
        )
        .await;
}

/// Every function keeps a warm cache of resolved keys; revoking a key (or rolling it
/// with no grace) still fails it on the very next request to any of them.
#[tokio::test]
async fn a_revoked_or_rolled_key_fails_at_once_on_every_warm_function() {
    let stack = TestStack::start().await;
    let acct = stack.account("revoke-everywhere@example.com").await;
    let account = stack.api(&acct.test_key).account();
    let routes = [
        "/webhooks/endpoints",
        "/products",
        "/portal/sessions",
        "/account",
    ];
    let warm = |key: String| {
        let stack = &stack;
        async move {
            for route in routes {
                expect(stack.get(route, &key).await, 200).await;
            }
        }
    };
    let revoked = account
        .create_key(json!({ "name": "revoked", "scopes": ["*"] }))
        .await;
    warm(revoked.key.clone()).await;
    account.revoke_key(&revoked.id).await;
    for route in routes {
        stack
            .refuses(Method::GET, route, &revoked.key, None, 401)
            .await;
    }

    let rolled = account
        .create_key(json!({ "name": "rolled", "scopes": ["*"] }))
        .await;
    warm(rolled.key.clone()).await;
    let successor = account.roll_key(&rolled.id, Some(0)).await;
    for route in routes {
        stack
            .refuses(Method::GET, route, &rolled.key, None, 401)
            .await;
    }
    warm(successor.key.clone()).await;
}

#[tokio::test]
async fn rolling_a_key_replaces_it_with_an_optional_grace_period() {
    let stack = TestStack::start().await;
    let acct = stack.account("roll@example.com").await;
    let created = create_key(
        &stack,
        &acct.test_key,
        json!({ "name": "rolling", "scopes": ["account:read"] }),
    )
    .await;
    let (id, old) = (created.id.as_str(), created.key.as_str().to_string());

    let account = stack.api(&acct.test_key).account();
    let rolled = account.roll_key(id, Some(3600)).await;
    let new = rolled.key;
    assert_ne!(new, old);
    assert_eq!(rolled.id, id, "a rolled key keeps its id");
    assert_eq!(rolled.scopes, ["account:read"]);
    expect(stack.get("/account", &old).await, 200).await;
    expect(stack.get("/account", &new).await, 200).await;
    let listed = account.keys().await;
    assert_eq!(
        listed.iter().filter(|k| k.id == id).count(),
        1,
        "{listed:?}"
    );

    let again = account.roll_key(id, None).await;
    let newest = again.key.as_str();
    stack
        .refuses(Method::GET, "/account", &new, None, 401)
        .await;
    expect(stack.get("/account", newest).await, 200).await;
    // The first one is still inside its hour.
    expect(stack.get("/account", &old).await, 200).await;

    stack
        .refuses(
            Method::POST,
            &format!("/account/keys/{id}/roll"),
            &acct.test_key,
            json!({ "expires_in": 700000 }),
            400,
        )
        .await;
    // Revoking removes every version.
    account.revoke_key(id).await;
    stack
        .refuses(Method::GET, "/account", &old, None, 401)
        .await;
    stack
        .refuses(Method::GET, "/account", newest, None, 401)
        .await;
}

/// A request with `key`, signed with `signing_secret` (the client side of the contract).
fn signed(
    stack: &TestStack,
    key: &str,
    signing_secret: &str,
    method: Method,
    path: &str,
    body: &str,
    timestamp: i64,
) -> reqwest::RequestBuilder {
    let (path_only, query) = path.split_once('?').unwrap_or((path, ""));
    let signature = request_signature(
        signing_secret,
        &timestamp.to_string(),
        method.as_str(),
        &format!("/api/v2{path_only}"),
        query,
        body.as_bytes(),
    );
    let mut request = stack
        .request(method, path, key)
        .header("x-pushguard-timestamp", timestamp.to_string())
        .header("x-pushguard-sign", hex::encode(signature));
    if !body.is_empty() {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    request
}

fn now_ms() -> i64 {
    shared::Timestamp::now().as_millis()
}

/// A request-signing secret is sealed at rest (a data key of the account whose purpose
/// is request signing), so the keys table and its index hold no `pgsk_`; every
/// function that authenticates opens it, and keys stored before (in clear) still sign.
#[tokio::test]
async fn request_signing_secrets_are_sealed_at_rest_and_older_keys_still_sign() {
    let stack = TestStack::start().await;
    let acct = stack.account("sealed-signing@example.com").await;
    let created = create_key(
        &stack,
        &acct.test_key,
        json!({ "name": "signer", "scopes": ["*"], "require_signed": true }),
    )
    .await;
    let secret = created.signing_secret.clone().unwrap();
    let db = &stack.stack.state.db;
    let table = &stack.stack.state.config.tables.api_keys;
    let scan = |index: Option<&'static str>| async move {
        let out = db
            .client()
            .scan()
            .table_name(table)
            .set_index_name(index.map(str::to_string))
            .send()
            .await
            .unwrap();
        format!("{:?}", out.items.unwrap_or_default())
    };
    for index in [None, Some("by_account")] {
        let stored = scan(index).await;
        assert!(!stored.contains("pgsk_"), "{index:?}: {stored}");
        assert!(stored.contains("kms2:"), "{index:?}: sealed");
    }
    // Functions other than the one that made it open it to check a signature.
    for path in ["/products", "/orders", "/webhooks/endpoints", "/account"] {
        let request = signed(
            &stack,
            &created.key,
            &secret,
            Method::GET,
            path,
            "",
            now_ms(),
        );
        expect(request.send().await.unwrap(), 200).await;
    }

    // A key stored before secrets were sealed: its signing secret in clear.
    let spec = shared::account::KeySpec {
        name: "older".into(),
        scopes: vec![shared::scopes::Scope::All],
        require_signed: true,
    };
    let account_id = acct.id.parse().unwrap();
    let (older, key) = shared::account::ApiKey::generate(&account_id, shared::Mode::Test, spec);
    shared::store::api_keys::create(db, &older).await.unwrap();
    let clear = older.signing_secret.clone().unwrap();
    db.client()
        .update_item()
        .table_name(table)
        .key(
            "key_hash",
            aws_sdk_dynamodb::types::AttributeValue::S(older.key_hash.clone()),
        )
        .update_expression("SET signing_secret = :s")
        .expression_attribute_values(
            ":s",
            aws_sdk_dynamodb::types::AttributeValue::S(clear.expose().to_string()),
        )
        .send()
        .await
        .unwrap();
    let request = signed(
        &stack,
        key.expose(),
        clear.expose(),
        Method::GET,
        "/products",
        "",
        now_ms(),
    );
    expect(request.send().await.unwrap(), 200).await;
}

#[tokio::test]
async fn keys_that_require_signatures_refuse_unsigned_stale_and_replayed_requests() {
    let stack = TestStack::start().await;
    let acct = stack.account("signed@example.com").await;
    let created = create_key(
        &stack,
        &acct.test_key,
        json!({ "name": "signer", "scopes": ["*"], "require_signed": true }),
    )
    .await;
    let key = created.key.as_str();
    let secret = created.signing_secret.as_deref().unwrap();
    assert!(secret.starts_with("pgsk_test_"), "{secret}");
    assert!(created.require_signed);
    let listed = expect(stack.get("/account/keys", &acct.test_key).await, 200).await;
    assert!(
        !listed.to_string().contains(secret),
        "the signing secret is shown once"
    );

    stack.refuses(Method::GET, "/account", key, None, 401).await;
    let now = now_ms();
    let request = signed(&stack, key, secret, Method::GET, "/account", "", now);
    expect(request.try_clone().unwrap().send().await.unwrap(), 200).await;
    expect(request.send().await.unwrap(), 401).await; // replay
    for stale in [now - 181_000, now + 181_000] {
        let request = signed(&stack, key, secret, Method::GET, "/account", "", stale);
        expect(request.send().await.unwrap(), 401).await;
    }
    // Signed with the key itself (which every request carries): refused.
    let with_key = signed(&stack, key, key, Method::GET, "/account", "", now_ms());
    expect(with_key.send().await.unwrap(), 401).await;
    // The query is signed too.
    let with_query = signed(
        &stack,
        key,
        secret,
        Method::GET,
        "/webhooks/endpoints?per_page=5",
        "",
        now_ms(),
    );
    expect(with_query.send().await.unwrap(), 200).await;

    let body = r#"{"url":"https://example.com/signed","events":["order:paid"]}"#;
    let request = signed(
        &stack,
        key,
        secret,
        Method::POST,
        "/webhooks/endpoints",
        body,
        now_ms(),
    );
    expect(request.send().await.unwrap(), 201).await;
    // The signature covers the body: the same headers with another body fail.
    let tampered = signed(
        &stack,
        key,
        secret,
        Method::POST,
        "/webhooks/endpoints",
        body,
        now_ms(),
    )
    .body(r#"{"url":"https://example.com/evil","events":["order:paid"]}"#);
    expect(tampered.send().await.unwrap(), 401).await;

    // Rolling the key rolls its signing secret too.
    let id = created.id.as_str();
    let rolled = expect(
        signed(
            &stack,
            key,
            secret,
            Method::POST,
            &format!("/account/keys/{id}/roll"),
            "{}",
            now_ms(),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    let (new_key, new_secret) = (
        rolled["key"].as_str().unwrap(),
        rolled["signing_secret"].as_str().unwrap(),
    );
    assert_ne!(new_secret, secret);
    let request = signed(
        &stack,
        new_key,
        new_secret,
        Method::GET,
        "/account",
        "",
        now_ms(),
    );
    expect(request.send().await.unwrap(), 200).await;
    let request = signed(
        &stack,
        new_key,
        secret,
        Method::GET,
        "/account",
        "",
        now_ms(),
    );
    expect(request.send().await.unwrap(), 401).await;
}

#[tokio::test]
async fn a_key_without_a_signing_secret_cannot_sign() {
    let stack = TestStack::start().await;
    let acct = stack.account("optional-sign@example.com").await;
    let created = create_key(
        &stack,
        &acct.test_key,
        json!({ "name": "plain", "scopes": ["*"] }),
    )
    .await;
    assert_eq!(
        created.signing_secret, None,
        "only a key that signs has a signing secret"
    );
    let key = &acct.test_key;
    let with_key = signed(&stack, key, key, Method::GET, "/account", "", now_ms());
    expect(with_key.send().await.unwrap(), 401).await;
    let forged = stack
        .request(Method::GET, "/account", key)
        .header("x-pushguard-timestamp", now_ms().to_string())
        .header("x-pushguard-sign", "00".repeat(32));
    expect(forged.send().await.unwrap(), 401).await;
    expect(stack.get("/account", key).await, 200).await;
}

#[tokio::test]
async fn account_webhook_secret_rotates() {
    let stack = TestStack::start().await;
    let acct = stack.account("secret@example.com").await;
    let first = expect(
        stack
            .post("/account/webhook-secret/rotate", &acct.test_key, json!({}))
            .await,
        200,
    )
    .await;
    let second = expect(
        stack
            .request(
                Method::POST,
                "/account/webhook-secret/rotate",
                &acct.test_key,
            )
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let (first, second) = (
        first["secret"].as_str().unwrap(),
        second["secret"].as_str().unwrap(),
    );
    assert!(first.starts_with("whsec_") && second.starts_with("whsec_"));
    assert_ne!(first, second);
    let stored = stored_webhook_secrets(&stack, &acct.id).await;
    assert_eq!(stored.current, second);
    let signing: Vec<&str> = stored.signing_at(shared::Timestamp::now()).collect();
    assert_eq!(signing[0], second, "the current secret signs first");
    assert!(
        signing.contains(&first),
        "the rotated-out secret signs during its grace period"
    );
    assert_eq!(
        signing.len(),
        3,
        "the secret made with the account is in its grace period too"
    );
    let immediate = expect(
        stack
            .post(
                "/account/webhook-secret/rotate",
                &acct.test_key,
                json!({ "grace_period_seconds": 0 }),
            )
            .await,
        200,
    )
    .await;
    let stored = stored_webhook_secrets(&stack, &acct.id).await;
    let signing: Vec<&str> = stored.signing_at(shared::Timestamp::now()).collect();
    assert_eq!(
        signing.len(),
        3,
        "a rotation without grace retires nothing more"
    );
    assert_eq!(signing[0], immediate["secret"].as_str().unwrap());
    assert!(!signing.contains(&second));
}

#[tokio::test]
async fn operators_cannot_create_two_accounts_for_one_email() {
    let stack = TestStack::start().await;
    stack.account("twice@example.com").await;
    let again = pushguard::accounts::create(
        &stack.stack.state.db,
        &stack.stack.state.keyring,
        "TWICE@example.com",
        None,
    )
    .await;
    assert!(
        matches!(again, Err(shared::ApiError::Conflict(_))),
        "{:?}",
        again.err()
    );
    let invalid = pushguard::accounts::create(
        &stack.stack.state.db,
        &stack.stack.state.keyring,
        "not-an-email",
        None,
    )
    .await;
    assert!(matches!(invalid, Err(shared::ApiError::Validation(_))));
}

#[tokio::test]
async fn the_demo_key_is_the_one_configured() {
    let stack = TestStack::start().await;
    let (db, keyring) = (&stack.stack.state.db, &stack.stack.state.keyring);
    let fixed = "pg_test_demoDemoDemoDemoDemo1234";
    let key = pushguard::accounts::ensure_demo(db, keyring, "demo@pushguard.local", Some(fixed))
        .await
        .unwrap();
    assert_eq!(key.expose(), fixed);
    // A second start finds the account and the key in place.
    let again = pushguard::accounts::ensure_demo(db, keyring, "demo@pushguard.local", Some(fixed))
        .await
        .unwrap();
    assert_eq!(again.expose(), fixed);
    let body = expect(stack.get("/account", fixed).await, 200).await;
    assert_eq!(body["email"], "demo@pushguard.local");
    assert!(
        pushguard::accounts::ensure_demo(
            db,
            keyring,
            "demo@pushguard.local",
            Some("pg_live_demoDemoDemoDemoDemo1234")
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn a_key_may_roll_or_revoke_only_keys_its_scopes_cover() {
    let stack = TestStack::start().await;
    let acct = stack.account("cover@example.com").await;
    let ops = create_key(
        &stack,
        &acct.test_key,
        json!({ "name": "ops", "scopes": ["account:write"] }),
    )
    .await;
    let ops = ops.key.as_str().to_string();
    let full = expect(stack.get("/account", &acct.test_key).await, 200).await;
    let full_id = full["key"]["id"].as_str().unwrap();
    let reader = create_key(
        &stack,
        &acct.test_key,
        json!({ "name": "reader", "scopes": ["webhooks:read"] }),
    )
    .await;
    let reader_id = reader.id.as_str();
    // Rolling the * key would hand an account:write key the * key's new secret.
    for (id, what) in [(full_id, "the * key"), (reader_id, "a webhooks:read key")] {
        let (status, _) = status_and_json(
            stack
                .post(&format!("/account/keys/{id}/roll"), &ops, json!({}))
                .await,
        )
        .await;
        assert_eq!(status, 403, "rolling {what}");
        let (status, _) =
            status_and_json(stack.delete(&format!("/account/keys/{id}"), &ops).await).await;
        assert_eq!(status, 403, "revoking {what}");
    }
    expect(stack.get("/account", &acct.test_key).await, 200).await;
    let own = create_key(
        &stack,
        &ops,
        json!({ "name": "own", "scopes": ["account:read"] }),
    )
    .await;
    let own_id = own.id.as_str();
    expect(
        stack
            .post(&format!("/account/keys/{own_id}/roll"), &ops, json!({}))
            .await,
        200,
    )
    .await;
    let (status, _) =
        status_and_json(stack.delete(&format!("/account/keys/{own_id}"), &ops).await).await;
    assert_eq!(status, 204, "a covered key may be revoked");
}

#[tokio::test]
async fn concurrent_rotations_of_the_account_secret_lose_none() {
    let stack = std::sync::Arc::new(TestStack::start().await);
    let acct = stack.account("rotations@example.com").await;
    let before = stored_webhook_secrets(&stack, &acct.id).await.current;
    let rotations = (0..5).map(|_| {
        let (stack, key) = (stack.clone(), acct.test_key.clone());
        tokio::spawn(async move {
            expect(
                stack
                    .post("/account/webhook-secret/rotate", &key, json!({}))
                    .await,
                200,
            )
            .await["secret"]
                .as_str()
                .unwrap()
                .to_string()
        })
    });
    let issued: Vec<String> = futures::future::join_all(rotations)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let stored = stored_webhook_secrets(&stack, &acct.id).await;
    let signing: Vec<&str> = stored.signing_at(shared::Timestamp::now()).collect();
    assert!(
        issued.contains(&signing[0].to_string()),
        "one of them is current"
    );
    for secret in issued.iter().chain([&before]) {
        assert!(
            signing.contains(&secret.as_str()),
            "every secret handed out still signs during its grace period"
        );
    }
    assert_eq!(signing.len(), 6);
}

/// The account's test-mode webhook secrets as stored, opened with the operator's keyring.
async fn stored_webhook_secrets(
    stack: &TestStack,
    account_id: &shared::ids::AccountId,
) -> shared::secrets::SigningSecrets {
    let stored = shared::store::accounts::get(&stack.stack.state.db, account_id)
        .await
        .unwrap()
        .unwrap();
    stored
        .open_webhook_secret(&stack.stack.state.keyring, shared::Mode::Test)
        .await
        .unwrap()
}
