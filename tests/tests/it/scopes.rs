//! The route × scope matrix: every API route of template.yaml, the dialects' included,
//! called with a key of every scope, answers 403 exactly when the scope does not cover
//! the route's group and level (GET reads, everything else writes, but for the Key/Sign
//! API's list, a POST; write implies read; `*` covers all). A dialect is never a way
//! around a scope.

use harness::{TestStack, expect, status_and_json};
use reqwest::Method;
use serde_json::json;
use shared::scopes::{Group, Level};

/// The Key/Sign API's routes: signed with `Key` and `Sign` (see `dialects::keysign`).
const KEYSIGN: &str = "/api/v1/subscription/webhook";

/// The group a route belongs to, by its first path segment (the dialects' routes are
/// all webhooks').
fn group_of(path: &str) -> Option<Group> {
    if path.starts_with("/webhooks")
        || path.starts_with("/api/external/v1/webhooks")
        || path.starts_with(KEYSIGN)
    {
        return Some(Group::Webhooks);
    }
    let segment = path.trim_start_matches("/api/v2/").split('/').next()?;
    Some(match segment {
        "account" => Group::Account,
        // Portal links are made with webhooks:write.
        "webhooks" | "portal" => Group::Webhooks,
        "events" | "event-types" => Group::Events,
        // Uploads become products' and categories' images and files.
        "products" | "uploads" => Group::Products,
        "categories" => Group::Categories,
        "orders" => Group::Orders,
        "payments" => Group::Payments,
        "blacklists" => Group::Blacklists,
        "blacklist-rules" => Group::BlacklistRules,
        "feedback" => Group::Feedback,
        "queries" => Group::Queries,
        _ => return None,
    })
}

#[tokio::test]
async fn every_route_answers_403_exactly_to_the_scopes_that_do_not_cover_it() {
    // 1,400 requests from one tenant as fast as they go: no rate limit here.
    let stack = TestStack::start_with(&[
        ("RATE_LIMIT_PER_SECOND", "0"),
        ("OUTBOUND_RATE_LIMIT_PER_SECOND", "0"),
    ])
    .await;
    let acct = stack.account("matrix@example.com").await;
    let template = pushguard::template::Template::parse(pushguard::template::BUNDLED).unwrap();
    let routes: Vec<(String, String)> = template
        .http_routes()
        .into_iter()
        .map(|(_, method, path)| (method, path))
        // Public routes need no scope.
        .filter(|(_, path)| {
            !path.starts_with("/pay/")
                && !path.starts_with("/media/")
                && !path.starts_with("/portal")
                && ![
                    "/api/v2/health",
                    "/api/v2/openapi.json",
                    "/api/v2/webhooks/public-keys/{account_id}",
                ]
                .contains(&path.as_str())
        })
        .collect();
    assert!(routes.len() > 40, "{routes:?}");

    let mut scopes = vec![("*".to_string(), None)];
    for &group in Group::ALL {
        for level in [Level::Read, Level::Write] {
            let name = match level {
                Level::Read => format!("{}:read", group.as_str()),
                Level::Write => format!("{}:write", group.as_str()),
            };
            scopes.push((name, Some((group, level))));
        }
    }
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for (scope, grant) in &scopes {
        let created = expect(
            stack
                .post(
                    "/account/keys",
                    &acct.test_key,
                    json!({ "name": scope, "scopes": [scope] }),
                )
                .await,
            201,
        )
        .await;
        let key = created["key"].as_str().unwrap();
        // The Key/Sign API takes only keys that sign: one of the same scope.
        let signer = expect(
            stack
                .post(
                    "/account/keys",
                    &acct.test_key,
                    json!({ "name": scope, "scopes": [scope], "require_signed": true }),
                )
                .await,
            201,
        )
        .await;
        for (method, path) in &routes {
            let group = group_of(path).unwrap_or_else(|| panic!("no group for {path}"));
            let needs = if method == "GET" || (method == "POST" && path == KEYSIGN) {
                Level::Read
            } else {
                Level::Write
            };
            let covered = match grant {
                None => true,
                Some((held, level)) => {
                    *held == group && (*level == Level::Write || needs == Level::Read)
                }
            };
            let uri = path.replace("{id}", "x").replace("{name}", "x:y");
            let url = format!("{}{uri}", stack.stack.base_url());
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let request = if path.starts_with(KEYSIGN) {
                let body = json!({ "account": acct.id.to_string(), "timestamp": shared::Timestamp::now().as_millis() })
                    .to_string();
                let secret = signer["signing_secret"].as_str().unwrap();
                let sign = shared::webhooks::signing::hex_hmac_sha256(secret, body.as_bytes());
                stack
                    .http
                    .request(method.clone(), url)
                    .header("Key", signer["key"].as_str().unwrap())
                    .header("Sign", sign)
                    .header("Content-Type", "application/json")
                    .body(body)
            } else if method != Method::GET && method != Method::DELETE {
                stack
                    .http
                    .request(method.clone(), url)
                    .bearer_auth(key)
                    .json(&json!({}))
            } else {
                stack.http.request(method.clone(), url).bearer_auth(key)
            };
            let (status, body) = status_and_json(request.send().await.unwrap()).await;
            checked += 1;
            let fine = if covered {
                status != 403 && status != 401 && status < 500
            } else {
                status == 403
            };
            if !fine {
                mismatches.push(format!("{scope} {method} {path}: {status} {body}"));
            }
        }
    }
    println!(
        "route x scope matrix: {checked} requests, {} routes, {} scopes",
        routes.len(),
        scopes.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
