//! The portal in a real browser: headless Chromium, driven through WebDriver against
//! the local stack, clicking what a merchant's customer would click. Each page is
//! saved to `target/screenshots/`.

use harness::{Receiver, TestStack, browser::Browser};
use serde_json::json;

#[tokio::test]
async fn in_chromium_a_manage_link_adds_an_endpoint_tests_it_retries_the_delivery_and_charts_it() {
    let stack = TestStack::start().await;
    let receiver = Receiver::start().await;
    let acct = stack.account("portal-browser@example.com").await;
    let browser = Browser::start(1100, 1400).await;

    browser
        .goto(&stack.portal_link(&acct.test_key, "manage").await)
        .await;
    assert!(
        browser.url().await.ends_with("/portal"),
        "the link's token leaves the address bar"
    );
    assert!(
        browser
            .text_of("#no-endpoints")
            .await
            .contains("No endpoints yet")
    );
    browser.screenshot("01-endpoints-empty").await;

    // Add an endpoint to the local receiver, for order:paid only.
    browser.follow("#add-endpoint").await;
    browser.fill("#url", &receiver.url("/portal-hook")).await;
    browser.click(r#"input[name="events"][value="*"]"#).await;
    browser
        .click(r#"input[name="events"][value="order:paid"]"#)
        .await;
    assert!(!browser.is_selected(r#"input[value="*"]"#).await);
    assert!(
        browser.all("#filter-error").await.is_empty(),
        "no filter is not a bad filter"
    );
    browser.screenshot("02-endpoint-form").await;
    browser.follow("#create").await;
    let secret = browser.text_of("#secret").await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    browser.screenshot("03-endpoint-added").await;
    browser.follow("#to-endpoint").await;
    let page = browser.url().await;
    let endpoint_id = page.rsplit('/').next().unwrap().to_string();
    let api = stack.api(&acct.test_key);
    let endpoint = api.endpoints().get(&endpoint_id).await;
    assert_eq!(endpoint.events, vec!["order:paid"]);

    // A filter that does not parse is shown where it stops.
    browser.fill("#filter", "value >> 10").await;
    browser.follow("#save").await;
    assert!(
        browser
            .text_of("#errors")
            .await
            .contains("Filter is invalid")
    );
    let caret = browser.text_of("#filter-error").await;
    assert!(caret.contains("       ^"), "{caret:?}");
    browser.screenshot("04-filter-error").await;
    assert_eq!(api.endpoints().get(&endpoint_id).await.filter, None);

    // Send a test ping: it arrives, signed with the secret the page showed once.
    browser.goto(&page).await;
    browser.follow("#send-test").await;
    assert_eq!(browser.text_of("#test-verdict").await, "Delivered");
    browser.screenshot("05-test-ping").await;
    let ping = receiver.wait_for("/portal-hook", 1).await.remove(0);
    harness::verify_standard(&secret, &ping).expect("the ping verifies");

    // The delivery: the request as sent, the response, one attempt; retry it.
    browser.follow("#test-delivery").await;
    assert_eq!(
        browser.text_of("#request-body").await,
        String::from_utf8(ping.body.clone()).unwrap(),
        "the body as it was sent"
    );
    assert_eq!(browser.all("#attempts tbody tr").await.len(), 1);
    browser.screenshot("06-delivery").await;
    browser.follow("#retry").await;
    assert!(browser.text_of("#notice").await.contains("Delivered again"));
    assert_eq!(browser.all("#attempts tbody tr").await.len(), 2);
    receiver.wait_for("/portal-hook", 2).await;
    browser.screenshot("07-delivery-retried").await;

    // The deliveries list, filtered to the succeeded ones.
    browser.follow(r#"nav a[href="/portal/deliveries"]"#).await;
    browser
        .click(r#"#filter-status option[value="succeeded"]"#)
        .await;
    browser.follow("#apply-filters").await;
    assert!(browser.url().await.contains("status=succeeded"));
    let rows = browser.all("#deliveries tbody tr").await;
    assert_eq!(rows.len(), 1, "one delivery, retried once");
    browser.screenshot("08-deliveries").await;

    // The chart: two succeeded attempts this hour.
    browser.goto(&page).await;
    assert!(!browser.all("#outcomes rect.succeeded").await.is_empty());
    assert!(
        browser
            .text_of("#attempts")
            .await
            .starts_with("2 (2 succeeded")
    );
    browser.screenshot("09-endpoint-chart").await;
    browser.follow("#period-7d").await;
    assert!(browser.text_of("#period").await.starts_with("24 hours"));

    browser.follow(r#"nav a[href="/portal/events"]"#).await;
    assert!(
        browser
            .text_of("#verify-python")
            .await
            .contains("def verify")
    );
    browser.screenshot("10-event-types").await;

    browser.resize(390, 844).await;
    browser
        .goto(&format!("{}/portal", stack.stack.base_url()))
        .await;
    browser.screenshot("11-endpoints-phone").await;
}

#[tokio::test]
async fn in_chromium_a_read_only_link_shows_no_action_the_server_refuses_a_forged_one_and_an_expired_link_opens_nothing()
 {
    let stack = TestStack::start().await;
    let receiver = Receiver::start().await;
    let acct = stack.account("portal-browser-read@example.com").await;
    let api = stack.api(&acct.test_key);
    let endpoint = api
        .endpoints()
        .create_to(&receiver.url("/read"), &["order:paid"])
        .await;
    let browser = Browser::start(1100, 1000).await;

    // A manage page's CSRF token, to forge a form with in the read-only session.
    browser
        .goto(&stack.portal_link(&acct.test_key, "manage").await)
        .await;
    let one = format!(
        "{}/portal/endpoints/{}",
        stack.stack.base_url(),
        endpoint.id
    );
    browser.goto(&one).await;
    let csrf = browser
        .execute(
            "return document.querySelector('input[name=csrf]').value",
            json!([]),
        )
        .await;

    browser
        .goto(&stack.portal_link(&acct.test_key, "read").await)
        .await;
    assert_eq!(browser.text_of("#scope").await, "read only");
    browser.screenshot("12-read-only-endpoints").await;
    browser.goto(&one).await;
    assert!(browser.all("button").await.is_empty(), "no action buttons");
    assert!(browser.all("form[method=post]").await.is_empty());
    browser.screenshot("13-read-only-endpoint").await;

    // The page has no form: make one, as a tampering user would, and send it.
    browser.execute("window.__leaving = true", json!([])).await;
    browser
        .execute(
            "const form = document.createElement('form');
             form.method = 'post'; form.action = arguments[0];
             const input = document.createElement('input');
             input.name = 'csrf'; input.value = arguments[1];
             form.appendChild(input); document.body.appendChild(form); form.submit();",
            json!([format!("/portal/endpoints/{}/disable", endpoint.id), csrf]),
        )
        .await;
    browser.wait_for_new_page().await;
    assert!(
        browser.text_of("#read-only").await.contains("read only"),
        "refused by the server"
    );
    browser.screenshot("14-forged-action-refused").await;
    assert!(api.endpoints().get(endpoint.id.as_str()).await.enabled);

    // A link past its end: refused, with no cookie set.
    let id = shared::ids::PortalSessionId::new();
    let token = shared::portal::PortalToken::generate(&id);
    let now = shared::Timestamp::now();
    let expired = shared::portal::PortalSession {
        id,
        tenant: acct.tenant(shared::Mode::Test),
        scope: shared::portal::PortalScope::Manage,
        created_by: "key_test".into(),
        key_hash: "0".repeat(64),
        created_at: shared::Timestamp::from_millis(now.as_millis() - 7_200_000),
        expires_at: shared::Timestamp::from_millis(now.as_millis() - 1_000),
        token_hash: token.hash(),
        cookie_hash: None,
        opened_at: None,
    };
    shared::store::portal::create(&stack.stack.state.db, &expired)
        .await
        .unwrap();
    browser
        .goto(&format!(
            "{}/portal/{}",
            stack.stack.base_url(),
            token.expose()
        ))
        .await;
    assert!(
        browser
            .text_of("#refused")
            .await
            .contains("expired or was revoked")
    );
    browser.screenshot("15-expired-link").await;
}
