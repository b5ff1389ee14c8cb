//! The webhook portal: links made with an API key, opened without one, one tenant's
//! only, revocable, expiring, and pages that load nothing from another origin.

use harness::{TestStack, expect, status_and_json};
use reqwest::{StatusCode, header};
use serde_json::json;

/// A browser that does not follow redirects, so the link's answer can be read.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .use_preconfigured_tls(shared::tls::delivery_config())
        .build()
        .unwrap()
}

/// Opens `url` (a portal link): the cookie it sets.
async fn open_link(url: &str) -> String {
    let response = browser().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/portal");
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    for attribute in ["Path=/portal", "HttpOnly", "SameSite=Lax", "Max-Age="] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    cookie.split(';').next().unwrap().to_string()
}

async fn portal_page(stack: &TestStack, cookie: Option<&str>) -> (StatusCode, String, String) {
    let mut request = browser().get(format!("{}/portal", stack.stack.base_url()));
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = request.send().await.unwrap();
    let csp = response
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (response.status(), csp, response.text().await.unwrap())
}

#[tokio::test]
async fn a_portal_link_shows_its_tenants_endpoints_without_an_api_key_until_revoked() {
    let stack = TestStack::start().await;
    let receiver = harness::Receiver::start().await;
    let mine = stack.account("portal-mine@example.com").await;
    let theirs = stack.account("portal-theirs@example.com").await;
    let endpoint = stack
        .api(&mine.test_key)
        .endpoints()
        .create_to(&receiver.url("/mine"), &["order:paid"])
        .await;
    let other = stack
        .api(&theirs.test_key)
        .endpoints()
        .create_to(&receiver.url("/theirs"), &["order:paid"])
        .await;
    // One attempt for the statistics the page shows.
    assert!(
        stack
            .api(&mine.test_key)
            .endpoints()
            .test(endpoint.id.as_str())
            .await
            .delivered
    );

    let created = expect(
        stack
            .post(
                "/portal/sessions",
                &mine.test_key,
                json!({ "scope": "read" }),
            )
            .await,
        201,
    )
    .await;
    let url = created["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/portal/pgps_", stack.stack.base_url())),
        "{url}"
    );
    assert_eq!(created["scope"], "read");
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("ps_"), "{id}");
    let expires = shared::Timestamp::parse(created["expires_at"].as_str().unwrap()).unwrap();
    let hour = expires.as_millis() - shared::Timestamp::now().as_millis();
    assert!(
        (3_590_000..=3_600_000).contains(&hour),
        "an hour by default: {hour} ms"
    );

    // The token is stored hashed: the link's secret is nowhere in the sessions table.
    let token = url.rsplit('/').next().unwrap();
    let text = format!("{:?}", stack.portal_session_items().await);
    assert!(
        text.contains(id) && !text.contains(token),
        "hashed, kept under its id"
    );

    let cookie = open_link(url).await;
    let (status, csp, html) = portal_page(&stack, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains(endpoint.id.as_str()),
        "its endpoint is listed"
    );
    assert!(html.contains("100.0%"), "the test ping succeeded: {html}");
    assert!(html.contains(r#"id="scope">read only<"#));
    assert!(html.contains("<svg class=\"sparkline\""));
    assert!(
        !html.contains(other.id.as_str()),
        "another tenant's endpoint is not"
    );
    assert!(!html.contains("/theirs"));
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("style-src 'sha256-"), "{csp}");
    assert!(!csp.contains("http"), "no other origin: {csp}");
    assert!(!html.contains("<script"), "no script at all");
    assert!(
        !html.contains("src="),
        "nothing loaded, from here or elsewhere"
    );

    // The endpoint's page: both charts, drawn from the same statistics.
    let base = stack.stack.base_url();
    let page = |path: String| {
        let (cookie, base) = (cookie.clone(), base.clone());
        async move {
            let response = browser()
                .get(format!("{base}{path}"))
                .header(header::COOKIE, cookie)
                .send()
                .await
                .unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let (status, html) = page(format!("/portal/endpoints/{}", endpoint.id)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(r#"<svg id="outcomes""#) && html.contains(r#"<svg id="latency""#));
    assert!(html.contains(r#"class="succeeded""#), "the ping's bar");
    assert!(
        html.contains(r#"id="attempts">1 (1 succeeded, 0 failed)"#),
        "{html}"
    );
    let (status, html) = page(format!("/portal/endpoints/{}?period=7d", endpoint.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("24 hours</a> · 7 days"));
    let (status, _) = page(format!("/portal/endpoints/{}", other.id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's endpoint");
    let (status, _) = page("/portal/endpoints/not-an-id".to_string()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _, _) = portal_page(&stack, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no cookie, no portal");
    let (status, _, _) = portal_page(&stack, Some("pg_portal=pgps_forged")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Only its tenant may revoke it; then neither the cookie nor the link works.
    let path = format!("/portal/sessions/{id}");
    let (status, _) = status_and_json(stack.delete(&path, &theirs.test_key).await).await;
    assert_eq!(status, 404);
    let (status, _) = status_and_json(stack.delete(&path, &mine.live_key).await).await;
    assert_eq!(status, 404, "live and test are two tenants");
    let response = stack.delete(&path, &mine.test_key).await;
    assert_eq!(response.status(), 204);
    let (status, _, html) = portal_page(&stack, Some(&cookie)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{html}");
    let response = browser().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get(header::SET_COOKIE).is_none());
    let (status, _) = status_and_json(stack.delete(&path, &mine.test_key).await).await;
    assert_eq!(status, 404, "revoked once");
}

#[tokio::test]
async fn portal_sessions_are_validated_scoped_and_expire() {
    let stack = TestStack::start().await;
    let acct = stack.account("portal-rules@example.com").await;
    let key = &acct.test_key;
    for (body, error) in [
        (json!({}), "Scope can't be blank"),
        (
            json!({ "scope": "read", "expires_in": 59 }),
            "Expires in must be from 60 to 86400 seconds",
        ),
        (
            json!({ "scope": "read", "expires_in": 86_401 }),
            "Expires in must be from 60 to 86400 seconds",
        ),
    ] {
        let (status, answer) =
            status_and_json(stack.post("/portal/sessions", key, body).await).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["errors"], json!([error]));
    }
    let (status, _) = status_and_json(
        stack
            .post("/portal/sessions", key, json!({ "scope": "admin" }))
            .await,
    )
    .await;
    assert_eq!(status, 400);

    let reader = stack
        .api(key)
        .account()
        .create_key(json!({ "name": "reader", "scopes": ["webhooks:read"] }))
        .await;
    let (status, _) = status_and_json(
        stack
            .post("/portal/sessions", &reader.key, json!({ "scope": "read" }))
            .await,
    )
    .await;
    assert_eq!(status, 403, "a link needs webhooks:write");

    let day = expect(
        stack
            .post(
                "/portal/sessions",
                key,
                json!({ "scope": "manage", "expires_in": 86_400 }),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(day["scope"], "manage");

    // A session past its end (DynamoDB's TTL deletes it only later) opens nothing.
    let link = stack.expired_portal_link(key).await;
    let response = browser().get(&link).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let html = response.text().await.unwrap();
    assert!(html.contains("expired or was revoked"), "{html}");
    let cookie = format!("pg_portal={}", link.rsplit('/').next().unwrap());
    let (status, _, _) = portal_page(&stack, Some(&cookie)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "nor does its cookie");
}

/// A browser holding one portal session's cookie.
pub(crate) struct Portal {
    base: String,
    cookie: String,
    /// The browser's `Accept-Language`, if it sends one.
    language: Option<&'static str>,
}

impl Portal {
    /// Makes a `scope` link with `key` and opens it.
    pub(crate) async fn open(stack: &TestStack, key: &str, scope: &str) -> Portal {
        Portal {
            base: stack.stack.base_url(),
            cookie: open_link(&stack.portal_link(key, scope).await).await,
            language: None,
        }
    }

    /// The same session, in a browser that asks for `language`.
    pub(crate) fn speaking(self, language: &'static str) -> Portal {
        Portal {
            language: Some(language),
            ..self
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = browser()
            .request(method, format!("{}{path}", self.base))
            .header(header::COOKIE, &self.cookie);
        match self.language {
            Some(language) => request.header(header::ACCEPT_LANGUAGE, language),
            None => request,
        }
    }

    pub(crate) async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// Submits a form: the status, where it sends the browser on, and the page.
    pub(crate) async fn post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String, String) {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in fields {
            body.append_pair(name, value);
        }
        let response = self
            .request(reqwest::Method::POST, path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.finish())
            .send()
            .await
            .unwrap();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (response.status(), location, response.text().await.unwrap())
    }
}

/// The CSRF token a page's forms carry.
pub(crate) fn csrf(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("a form") + 19;
    html[at..at + 32].to_string()
}

/// The text of the element `id` (its first line of content, tags stripped).
fn element<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("#{id} in {html}"));
    let open = start + html[start..].find('>').unwrap() + 1;
    let close = open + html[open..].find('<').unwrap();
    &html[open..close]
}

#[tokio::test]
async fn a_manage_link_edits_tests_and_retries_through_forms_that_a_read_link_and_another_site_cannot_send()
 {
    let stack = TestStack::start().await;
    let receiver = harness::Receiver::start().await;
    let acct = stack.account("portal-actions@example.com").await;
    let api = stack.api(&acct.test_key);
    let endpoint = api
        .endpoints()
        .create_to(&receiver.url("/hook"), &["order:paid"])
        .await;
    let one = format!("/portal/endpoints/{}", endpoint.id);
    let manager = Portal::open(&stack, &acct.test_key, "manage").await;
    let reader = Portal::open(&stack, &acct.test_key, "read").await;

    let (status, html) = manager.get(&one).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    for action in ["send-test", "disable", "rotate-secret", "save"] {
        assert!(html.contains(&format!(r#"id="{action}""#)), "{action}");
    }
    let token = csrf(&html);
    let (status, html) = reader.get(&one).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !html.contains("<form method=\"post\"") && !html.contains("<button"),
        "a read link shows no action"
    );
    let (status, html) = reader.get("/portal").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("add-endpoint"));
    assert_eq!(
        reader.get("/portal/endpoints/new").await.0,
        StatusCode::FORBIDDEN
    );

    // Refused, and nothing changes: a read link even with a real token, a form
    // without the token or with another, a form with no session at all.
    let disable = format!("{one}/disable");
    let (status, _, html) = reader.post(&disable, &[("csrf", &token)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains(r#"id="read-only""#), "{html}");
    for fields in [vec![], vec![("csrf", "0".repeat(32))]] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _, html) = manager.post(&disable, &fields).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{fields:?}");
        assert!(html.contains(r#"id="forged""#), "{html}");
    }
    let anonymous = browser()
        .post(format!("{}{disable}", stack.stack.base_url()))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("csrf={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(
        api.endpoints().get(endpoint.id.as_str()).await.enabled,
        "still enabled"
    );

    // Disable and enable, each back to the endpoint with a notice.
    let (status, location, _) = manager.post(&disable, &[("csrf", &token)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("{one}?done=disabled"));
    assert!(!api.endpoints().get(endpoint.id.as_str()).await.enabled);
    let (_, html) = manager.get(&location).await;
    assert!(html.contains(r#"id="notice""#) && html.contains(r#"id="enable""#));
    let (status, _, _) = manager
        .post(&format!("{one}/enable"), &[("csrf", &token)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(api.endpoints().get(endpoint.id.as_str()).await.enabled);

    // A filter that does not parse: the form again, the problem drawn at its
    // position, and the endpoint as it was.
    let url = receiver.url("/edited");
    let (status, _, html) = manager
        .post(
            &one,
            &[
                ("csrf", &token),
                ("url", &url),
                ("events", "order:paid"),
                ("filter", "value >> 10"),
                ("headers", "x-team: payments"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains(r#"id="errors""#), "{html}");
    let caret = element(&html, "filter-error");
    assert!(
        caret.starts_with("value &gt;&gt; 10\n       ^ "),
        "{caret:?}"
    );
    assert!(caret.contains("at position 8"), "{caret:?}");
    assert!(
        html.contains("value &gt;&gt; 10</textarea>"),
        "what was typed is kept"
    );
    let unchanged = api.endpoints().get(endpoint.id.as_str()).await;
    assert_eq!(unchanged.url, receiver.url("/hook"));
    assert_eq!(unchanged.filter, None);

    let (status, location, html) = manager
        .post(
            &one,
            &[
                ("csrf", &token),
                ("url", &url),
                ("events", "order:paid"),
                ("events", "order:created"),
                ("filter", "value > 10"),
                ("headers", "X-Team: payments\n\n"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert_eq!(location, format!("{one}?done=saved"));
    let saved = api.endpoints().get(endpoint.id.as_str()).await;
    assert_eq!(saved.url, url);
    assert_eq!(saved.filter.as_deref(), Some("value > 10"));
    assert_eq!(saved.events, vec!["order:paid", "order:created"]);
    assert_eq!(saved.headers["x-team"], "****", "shown masked");

    // Rotate: the new secret is on that page only, and it signs from now on.
    let (status, _, html) = manager
        .post(&format!("{one}/rotate-secret"), &[("csrf", &token)])
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let secret = element(&html, "secret").to_string();
    assert!(
        secret.starts_with("whsec_") && Some(&secret) != endpoint.secret.as_ref(),
        "{secret}"
    );
    let (_, again) = manager.get(&one).await;
    assert!(!again.contains(&secret), "shown once");

    // A test ping: its result, then the delivery it made, as sent and answered.
    let (status, _, html) = manager
        .post(&format!("{one}/test"), &[("csrf", &token)])
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(element(&html, "test-verdict"), "Delivered");
    let delivery = element(&html, "test-delivery").to_string();
    let ping = receiver.wait_for("/edited", 1).await.remove(0);
    harness::verify_standard(&secret, &ping).expect("signed with the new secret");
    assert_eq!(ping.header("x-team"), "payments");
    let (status, html) = manager.get(&format!("/portal/deliveries/{delivery}")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    // Two signatures: the rotated secret's grace keeps the old one signing too.
    assert!(
        html.contains("<td>webhook-signature</td><td class=\"url\">v1,**** v1,****</td>"),
        "the headers as sent, the signatures masked: {html}"
    );
    for entry in ping.header("webhook-signature").split(' ') {
        let signature = entry.trim_start_matches("v1,");
        assert!(
            !html.contains(signature),
            "a signature shown could be replayed"
        );
    }
    assert!(
        html.contains("<td>x-team</td><td class=\"url\">****</td>"),
        "the endpoint's own header values are masked"
    );
    let body = String::from_utf8(ping.body.clone()).unwrap();
    assert_eq!(
        element(&html, "request-body"),
        shared::html::escape(&body),
        "byte for byte"
    );
    assert!(html.contains(r#"<table id="attempts">"#));
    assert_eq!(html.matches("<td data-label=\"Sent\">").count(), 1);

    // Retry it: a second attempt, listed beside the first.
    let (status, location, _) = manager
        .post(
            &format!("/portal/deliveries/{delivery}/retry"),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = manager.get(&location).await;
    assert_eq!(
        html.matches("<td data-label=\"Sent\">").count(),
        2,
        "{html}"
    );
    receiver.wait_for("/edited", 2).await;
    let log = api.logs().get(&delivery).await;
    assert_eq!(log.history.len(), 2, "{log:?}");
    assert!(
        log.history
            .iter()
            .all(|a| a.response_code == 200 && a.failure.is_none())
    );
    assert_eq!(log.request_headers["x-team"], "****");
}

#[tokio::test]
async fn the_deliveries_page_filters_opens_and_recovers_failed_deliveries_since_a_date() {
    let stack = TestStack::start().await;
    let receiver = harness::Receiver::start().await;
    let acct = stack.account("portal-deliveries@example.com").await;
    let other = stack.account("portal-deliveries-other@example.com").await;
    let api = stack.api(&acct.test_key);
    let endpoint = api
        .endpoints()
        .create_to(&receiver.url("/flaky"), &["order:paid"])
        .await;
    receiver.set("/flaky", harness::Behaviour::FailTimes(1, 500));
    let failed = api.endpoints().test(endpoint.id.as_str()).await;
    assert!(!failed.delivered);
    let succeeded = api.endpoints().test(endpoint.id.as_str()).await;
    assert!(succeeded.delivered);
    let theirs = stack
        .api(&other.test_key)
        .endpoints()
        .create_to(&receiver.url("/theirs"), &["order:paid"])
        .await;
    let foreign = stack
        .api(&other.test_key)
        .endpoints()
        .test(theirs.id.as_str())
        .await;

    let manager = Portal::open(&stack, &acct.test_key, "manage").await;
    let (status, html) = manager.get("/portal/deliveries").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(&failed.log_id) && html.contains(&succeeded.log_id));
    assert!(!html.contains(&foreign.log_id), "another tenant's delivery");
    let (_, html) = manager
        .get("/portal/deliveries?status=failed&event=webhook%3Aping")
        .await;
    assert!(
        html.contains(&failed.log_id) && !html.contains(&succeeded.log_id),
        "{html}"
    );
    let (_, html) = manager
        .get("/portal/deliveries?status=succeeded&endpoint=")
        .await;
    assert!(!html.contains(&failed.log_id) && html.contains(&succeeded.log_id));
    let (_, html) = manager.get("/portal/deliveries?event=order%3Apaid").await;
    assert!(html.contains(r#"id="no-deliveries""#));
    let (status, html) = manager.get("/portal/deliveries?status=lost").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("Status must be one of"), "{html}");
    let (status, _) = manager
        .get(&format!("/portal/deliveries/{}", foreign.log_id))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, html) = manager
        .get(&format!("/portal/deliveries/{}", failed.log_id))
        .await;
    assert!(
        element(&html, "response-code").starts_with("500 in "),
        "{html}"
    );
    assert!(
        html.contains(r#"<span class="status-failed">5xx</span>"#),
        "the attempt's cause"
    );

    // Recover since today: the failed ping goes out again, through the queue.
    let today = &shared::Timestamp::now().to_string()[..10];
    let token = csrf(&html);
    let (status, location, _) = manager
        .post(
            "/portal/deliveries/recover",
            &[
                ("csrf", &token),
                ("endpoint", endpoint.id.as_str()),
                ("since", today),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location,
        format!("/portal/deliveries?endpoint={}&recovered=1", endpoint.id)
    );
    let (_, html) = manager.get(&location).await;
    assert!(
        html.contains("1 failed delivery queued to go out again."),
        "{html}"
    );
    receiver.wait_for("/flaky", 3).await;
    harness::eventually("the recovered delivery succeeds", || async {
        let log = api.logs().get(&failed.log_id).await;
        (log.status == "succeeded").then_some(())
    })
    .await;
    for since in ["", "someday", "2999-01-01"] {
        let (status, _, html) = manager
            .post(
                "/portal/deliveries/recover",
                &[
                    ("csrf", &token),
                    ("endpoint", endpoint.id.as_str()),
                    ("since", since),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{since:?}: {html}");
    }
    let (status, _, _) = manager
        .post(
            "/portal/deliveries/recover",
            &[
                ("csrf", &token),
                ("endpoint", theirs.id.as_str()),
                ("since", today),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's endpoint");
}

#[tokio::test]
async fn the_catalogue_shows_every_event_type_and_its_python_node_and_ruby_checks_accept_a_real_delivery()
 {
    let stack = TestStack::start().await;
    let receiver = harness::Receiver::start().await;
    let acct = stack.account("portal-catalogue@example.com").await;
    stack
        .register_event_type(&acct.test_key, "invoice:sent", "An invoice went out")
        .await;
    let api = stack.api(&acct.test_key);
    let endpoint = api
        .endpoints()
        .create_to(&receiver.url("/verified"), &["*"])
        .await;
    assert!(api.endpoints().test(endpoint.id.as_str()).await.delivered);
    let delivery = receiver.wait_for("/verified", 1).await.remove(0);
    let secret = endpoint.secret.clone().unwrap();

    let reader = Portal::open(&stack, &acct.test_key, "read").await;
    let (status, html) = reader.get("/portal/events").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    for event in shared::webhooks::EventType::ALL {
        let id = format!(r#"id="event-{}""#, event.as_str().replace(':', "-"));
        assert!(html.contains(&id), "{event}");
    }
    assert!(html.contains("<code>invoice:sent</code></td><td>An invoice went out"));
    let snippet = |id: &str| {
        let start = html.find(&format!(r#"<pre id="{id}">"#)).unwrap();
        let text = &html[start..];
        let text = &text[text.find('>').unwrap() + 1..text.find("</pre>").unwrap()];
        harness::unescape_html(text)
    };
    let headers: serde_json::Map<String, serde_json::Value> =
        ["webhook-id", "webhook-timestamp", "webhook-signature"]
            .iter()
            .map(|name| (name.to_string(), json!(delivery.header(name))))
            .collect();
    let headers = serde_json::Value::Object(headers).to_string();
    let dir = std::env::temp_dir().join(format!("pushguard-verify-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let body_file = dir.join("body");
    let tampered_file = dir.join("tampered");
    std::fs::write(&body_file, &delivery.body).unwrap();
    let mut tampered = delivery.body.clone();
    tampered.push(b' ');
    std::fs::write(&tampered_file, &tampered).unwrap();
    let runs = [
        (
            "python3",
            "verify-python",
            "import json, sys\nprint(verify(sys.argv[1], json.loads(sys.argv[2]), open(sys.argv[3], 'rb').read()))\n",
            "py",
        ),
        (
            "node",
            "verify-node",
            "const fs = require('node:fs');\nconst [secret, headers, file] = process.argv.slice(2);\nconsole.log(verify(secret, JSON.parse(headers), fs.readFileSync(file)) ? 'True' : 'False');\n",
            "js",
        ),
        (
            "ruby",
            "verify-ruby",
            "require 'json'\nputs(verify(ARGV[0], JSON.parse(ARGV[1]), File.binread(ARGV[2])) ? 'True' : 'False')\n",
            "rb",
        ),
    ];
    for (program, id, call, extension) in runs {
        let script = dir.join(format!("verify.{extension}"));
        std::fs::write(&script, format!("{}\n{call}", snippet(id))).unwrap();
        for (file, expected) in [(&body_file, "True"), (&tampered_file, "False")] {
            let output = std::process::Command::new(program)
                .arg(&script)
                .arg(&secret)
                .arg(&headers)
                .arg(file)
                .output()
                .unwrap_or_else(|e| panic!("{program} runs: {e}"));
            assert!(output.status.success(), "{program}: {output:?}");
            assert_eq!(
                String::from_utf8_lossy(&output.stdout).trim(),
                expected,
                "{program} on {file:?}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_portal_link_dies_with_the_key_that_made_it() {
    let stack = TestStack::start().await;
    let acct = stack.account("portal-key@example.com").await;
    let key = stack
        .api(&acct.test_key)
        .account()
        .create_key(json!({ "name": "portal links", "scopes": ["webhooks:write"] }))
        .await;
    let portal = Portal::open(&stack, &key.key, "manage").await;
    assert_eq!(portal.get("/portal").await.0, StatusCode::OK);
    let response = stack
        .delete(&format!("/account/keys/{}", key.id), &acct.test_key)
        .await;
    assert_eq!(response.status(), 204);
    let (status, html) = portal.get("/portal").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{html}");
}

#[tokio::test]
async fn each_portal_session_has_its_own_rate_limit() {
    let stack = TestStack::start_with(&[
        ("PORTAL_RATE_LIMIT_PER_SECOND", "1"),
        ("PORTAL_RATE_LIMIT_BURST", "3"),
    ])
    .await;
    let acct = stack.account("portal-limit@example.com").await;
    // Opening the link takes the first token.
    let busy = Portal::open(&stack, &acct.test_key, "read").await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = browser()
            .get(format!("{}/portal/events", busy.base))
            .header(header::COOKIE, &busy.cookie)
            .send()
            .await
            .unwrap();
        let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
        statuses.push((response.status(), retry_after));
    }
    assert_eq!(statuses[0].0, StatusCode::OK);
    assert_eq!(statuses[1].0, StatusCode::OK);
    assert_eq!(statuses[2].0, StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    assert!(statuses[2].1.is_some(), "with Retry-After");
    let quiet = Portal::open(&stack, &acct.test_key, "read").await;
    assert_eq!(
        quiet.get("/portal/events").await.0,
        StatusCode::OK,
        "another session has its own bucket"
    );
}

/// A link is bound to the version of the key that made it: a roll that ends the old
/// version at once ends its links too (cookie and link alike), a roll with a grace
/// period keeps them until the grace ends; the tenant lists its links and revokes them
/// all, and another tenant's links are not touched.
#[tokio::test]
async fn a_portal_link_ends_with_its_key_version_and_a_tenant_lists_and_revokes_its_links() {
    let stack = TestStack::start().await;
    let acct = stack.account("portal-roll@example.com").await;
    let other = stack.account("portal-roll-other@example.com").await;
    let account = stack.api(&acct.test_key).account();
    let key = account
        .create_key(json!({ "name": "portal links", "scopes": ["webhooks:write"] }))
        .await;
    let link = stack.portal_link(&key.key, "manage").await;
    let old = Portal {
        base: stack.stack.base_url(),
        cookie: open_link(&link).await,
        language: None,
    };
    assert_eq!(old.get("/portal").await.0, StatusCode::OK);

    // The documented remedy for a leaked key: roll it, the old version ending now.
    let rolled = account.roll_key(&key.id, Some(0)).await;
    let (status, html) = old.get("/portal").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the old link's cookie: {html}"
    );
    let reopened = browser().get(&link).send().await.unwrap();
    assert_eq!(reopened.status(), StatusCode::UNAUTHORIZED, "the old link");
    assert!(reopened.headers().get(header::SET_COOKIE).is_none());

    // The new version's links work, and outlive a later roll for its grace period.
    let kept = Portal::open(&stack, &rolled.key, "read").await;
    let second = Portal::open(&stack, &rolled.key, "manage").await;
    let theirs = Portal::open(&stack, &other.test_key, "read").await;
    let again = account.roll_key(&key.id, Some(3600)).await;
    assert_eq!(kept.get("/portal").await.0, StatusCode::OK, "in the grace");

    let listed = expect(stack.get("/portal/sessions", &again.key).await, 200).await;
    let listed = listed.as_array().expect("a list");
    assert_eq!(listed.len(), 3, "{listed:?}");
    let active: Vec<bool> = listed
        .iter()
        .map(|s| s["active"].as_bool().unwrap())
        .collect();
    assert_eq!(
        active,
        [true, true, false],
        "newest first; the first link's version is gone"
    );
    for session in listed {
        assert_eq!(session["created_by"], key.id.as_str());
        assert!(session.get("url").is_none() && session.get("token_hash").is_none());
        assert!(session.get("key_hash").is_none(), "{session}");
    }
    let read_only = account
        .create_key(json!({ "name": "reader", "scopes": ["webhooks:read"] }))
        .await;
    assert_eq!(
        stack.get("/portal/sessions", &read_only.key).await.status(),
        200
    );
    assert_eq!(
        stack
            .delete("/portal/sessions", &read_only.key)
            .await
            .status(),
        403,
        "revoking needs webhooks:write"
    );

    let revoked = expect(stack.delete("/portal/sessions", &again.key).await, 200).await;
    assert_eq!(revoked["revoked"], 3);
    for portal in [&kept, &second] {
        assert_eq!(portal.get("/portal").await.0, StatusCode::UNAUTHORIZED);
    }
    let listed = expect(stack.get("/portal/sessions", &again.key).await, 200).await;
    assert_eq!(listed, json!([]));
    assert_eq!(
        theirs.get("/portal").await.0,
        StatusCode::OK,
        "another tenant's link"
    );
    let theirs_listed = expect(stack.get("/portal/sessions", &other.test_key).await, 200).await;
    assert_eq!(theirs_listed.as_array().unwrap().len(), 1);
}

/// The session cookie is `Secure` wherever the portal is not plain http on this
/// machine: whatever host or `X-Forwarded-Proto` a request names, only a loopback
/// host over http (`make run`, the tests) gets a cookie a browser would send over http.
#[tokio::test]
async fn the_session_cookie_is_secure_anywhere_but_on_this_machine() {
    let stack = TestStack::start().await;
    let acct = stack.account("portal-secure@example.com").await;
    let cookie_for = |host: &'static str, proto: Option<&'static str>| {
        let stack = &stack;
        let key = acct.test_key.clone();
        async move {
            let url = stack.portal_link(&key, "read").await;
            let mut request = browser().get(&url).header(header::HOST, host);
            if let Some(proto) = proto {
                request = request.header("x-forwarded-proto", proto);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{host}");
            response.headers()[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .to_string()
        }
    };
    for (host, proto) in [
        ("portal.example.com", None),
        ("portal.example.com", Some("http")),
        ("203.0.113.9", Some("http")),
        ("127.0.0.1.example.com", None),
    ] {
        let cookie = cookie_for(host, proto).await;
        assert!(cookie.contains("; Secure"), "{host} {proto:?}: {cookie}");
    }
    for host in ["127.0.0.1", "localhost:3000", "[::1]:3000"] {
        let cookie = cookie_for(host, None).await;
        assert!(!cookie.contains("Secure"), "{host}: {cookie}");
    }
}

/// A link opens once, for a cookie of its own; every page names the account it shows;
/// and a browser looking at one tenant's portal is asked before a link replaces it
/// with another's.
#[tokio::test]
async fn a_link_opens_once_names_its_account_and_asks_before_leaving_another_tenants_portal() {
    let stack = TestStack::start().await;
    let a = stack.account("portal-once-a@example.com").await;
    let b = stack.account("portal-once-b@example.com").await;
    let base = stack.stack.base_url();
    let get = |url: String, cookie: Option<String>| async move {
        let mut request = browser().get(url);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let set = response
            .headers()
            .get(header::SET_COOKIE)
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
        (status, set, response.text().await.unwrap())
    };

    let link_a = stack.portal_link(&a.test_key, "read").await;
    let cookie_a = open_link(&link_a).await;
    let token_a = link_a.rsplit('/').next().unwrap();
    assert!(!cookie_a.contains(token_a), "the cookie is not the link");
    let (status, _, html) = get(format!("{base}/portal"), Some(cookie_a.clone())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&format!(r#"id="account">{} (test)<"#, a.id)),
        "{html}"
    );

    // Opened: the link opens nothing more, and it is no cookie either.
    let (status, set, _) = get(link_a.clone(), None).await;
    assert_eq!((status, set), (StatusCode::UNAUTHORIZED, None));
    let as_cookie = format!("pg_portal={token_a}");
    let (status, _, _) = get(format!("{base}/portal"), Some(as_cookie)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Another tenant's link in this browser: a page asks first, and nothing changes.
    let link_b = stack.portal_link(&b.test_key, "read").await;
    let (status, set, html) = get(link_b.clone(), Some(cookie_a.clone())).await;
    assert_eq!((status, set), (StatusCode::OK, None), "{html}");
    assert!(
        html.contains(a.id.as_str()) && html.contains(b.id.as_str()),
        "{html}"
    );
    assert!(html.contains(r#"id="switch-account""#));
    let (status, _, html) = get(format!("{base}/portal"), Some(cookie_a.clone())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(a.id.as_str()), "still A's");
    // The link was not used up by asking: confirming opens it.
    let switched = browser()
        .post(&link_b)
        .header(header::COOKIE, &cookie_a)
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    let cookie_b = switched.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let (status, _, html) = get(format!("{base}/portal"), Some(cookie_b)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!(r#"id="account">{} (test)<"#, b.id)));
    let (status, _, _) = get(link_b, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "opened once");

    // The same tenant's next link needs no question; the list says which were opened.
    let again = stack.portal_link(&a.test_key, "manage").await;
    let (status, set, _) = get(again, Some(cookie_a)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(set.is_some());
    let listed = expect(stack.get("/portal/sessions", &a.test_key).await, 200).await;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["opened_at"].is_string()),
        "{listed}"
    );
}

/// What a merchant or a receiver wrote reaches a page as text, never as markup: the
/// pages are built by `html!`, which escapes whatever is not markup itself.
#[tokio::test]
async fn what_tenants_and_receivers_wrote_is_shown_as_text_never_as_markup() {
    let stack = TestStack::start().await;
    let receiver = harness::Receiver::start().await;
    let acct = stack.account("portal-escaping@example.com").await;
    let markup = r#"<img src=x onerror="alert(1)">"#;
    stack
        .register_event_type(&acct.test_key, "invoice:sent", markup)
        .await;
    let filter = format!("description == '{markup}'");
    let endpoint = expect(
        stack
            .post(
                "/webhooks/endpoints",
                &acct.test_key,
                json!({
                    "url": receiver.url("/hooks"),
                    "events": ["*"],
                    "description": markup,
                    "filter": filter,
                }),
            )
            .await,
        201,
    )
    .await;
    let id = endpoint["id"].as_str().unwrap();
    let manager = Portal::open(&stack, &acct.test_key, "manage").await;
    let escaped = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;";
    for path in [
        "/portal/events".to_string(),
        format!("/portal/endpoints/{id}"),
    ] {
        let (status, html) = manager.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {html}");
        assert!(!html.contains("<img"), "{path} holds the markup as markup");
        assert!(html.contains(escaped), "{path} shows it as text: {html}");
    }
    // The edit form gives the description and the filter back as they were written.
    let (_, html) = manager.get(&format!("/portal/endpoints/{id}")).await;
    assert!(html.contains(&format!(r#"name="description" value="{escaped}""#)));
    assert!(html.contains(&format!("description == &#39;{escaped}&#39;</textarea>")));
}
