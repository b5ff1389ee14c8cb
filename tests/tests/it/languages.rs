//! Languages: every answer says its language in `Content-Language`, chosen by the
//! caller's `Accept-Language` (quality values honoured): the API's fixed messages and
//! the hosted payment page in English or Spanish; Conekta's dialect in Spanish unless
//! asked for English; every validation message, conflict and portal page the same way.
//! Codes, field names and statuses never change with the language.

use super::commerce::{pay, stack};
use super::dialects::call;
use harness::{TestStack, status_and_json};
use reqwest::Method;
use serde_json::{Value, json};

/// `GET path` with `key` (if any) reading `language` → status, `Content-Language`, body.
async fn read(
    stack: &TestStack,
    path: &str,
    key: Option<&str>,
    language: Option<&str>,
) -> (u16, String, Value) {
    let mut request = stack
        .http
        .get(format!("{}/api/v2{path}", stack.stack.base_url()));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(language) = language {
        request = request.header("Accept-Language", language);
    }
    let response = request.send().await.unwrap();
    let said = response
        .headers()
        .get("content-language")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let (status, body) = status_and_json(response).await;
    (status, said, body)
}

const MISSING: &str = "/products/prd_01J00000000000000000000000";

#[tokio::test]
async fn the_api_answers_in_the_language_the_caller_prefers() {
    let stack = stack().await;
    let acct = stack.account("idiomas@example.com").await;
    let key = Some(acct.test_key.as_str());

    for (asked, language, unauthenticated, missing) in [
        (None, "en", "Unable to authenticate", "Product not found"),
        (
            Some("es"),
            "es",
            "No se pudo autenticar la solicitud",
            "No se encontró el producto",
        ),
        (
            Some("es-MX,es;q=0.9,en;q=0.8"),
            "es",
            "No se pudo autenticar la solicitud",
            "No se encontró el producto",
        ),
        (
            Some("fr-FR, fr;q=0.9, es;q=0.5, en;q=0.3"),
            "es",
            "No se pudo autenticar la solicitud",
            "No se encontró el producto",
        ),
        (
            Some("es;q=0, en;q=0.1"),
            "en",
            "Unable to authenticate",
            "Product not found",
        ),
        (
            Some("de"),
            "en",
            "Unable to authenticate",
            "Product not found",
        ),
    ] {
        let (status, said, body) = read(&stack, "/products", None, asked).await;
        assert_eq!((status, said.as_str()), (401, language), "{asked:?}");
        assert_eq!(body["message"], unauthenticated, "{asked:?}");
        let (status, said, body) = read(&stack, MISSING, key, asked).await;
        assert_eq!((status, said.as_str()), (404, language), "{asked:?}");
        assert_eq!(body["message"], missing, "{asked:?}");
    }

    // What machines read stays as it is: the status, the field names, the list.
    let response = stack
        .http
        .post(format!("{}/api/v2/products", stack.stack.base_url()))
        .bearer_auth(&acct.test_key)
        .header("Accept-Language", "es")
        .json(&json!({ "title": "x" }))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 400);
    assert_eq!(body["message"], "Los datos enviados no son válidos");
    assert!(
        body["errors"].as_array().is_some_and(|e| !e.is_empty()),
        "{body}"
    );

    // Conekta's dialect speaks Spanish unless asked for English.
    let spoken = |language: Option<&'static str>| {
        let mut request = call(&stack, Method::GET, "/webhooks", &acct.test_key)
            .header("Accept", "application/vnd.conekta-v2.1.0+json");
        if let Some(language) = language {
            request = request.header("Accept-Language", language);
        }
        async move {
            let response = request.send().await.unwrap();
            response.headers()["content-language"]
                .to_str()
                .unwrap()
                .to_string()
        }
    };
    assert_eq!(spoken(None).await, "es");
    assert_eq!(spoken(Some("en")).await, "en");
    assert_eq!(spoken(Some("es;q=0.3, en;q=0.7")).await, "en");
}

#[tokio::test]
async fn the_payment_page_speaks_the_customers_language() {
    let stack = stack().await;
    let acct = stack.account("pagina@example.com").await;
    let order = pay(&stack, &acct.test_key, json!({})).await;
    let page = order.url.clone().unwrap();
    let fetch = |language: &'static str, path: String| {
        let request = stack.http.get(path).header("Accept-Language", language);
        async move {
            let response = request.send().await.unwrap();
            let said = response.headers()["content-language"]
                .to_str()
                .unwrap()
                .to_string();
            (said, response.text().await.unwrap())
        }
    };
    let (said, html) = fetch("es-ES,es;q=0.9", page.clone()).await;
    assert_eq!(said, "es");
    for text in [
        r#"<html lang="es">"#,
        "Importe",
        "Cantidad",
        "Estado",
        "No pagado",
        "Modo de prueba",
    ] {
        assert!(html.contains(text), "{text} missing: {html}");
    }
    let (said, status) = fetch("es", format!("{page}/status")).await;
    assert_eq!(said, "es");
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(
        (status["status"].clone(), status["status_text"].clone()),
        (json!(0), json!("No pagado"))
    );
    let (said, html) = fetch("en-US", page.clone()).await;
    assert_eq!(said, "en");
    assert!(
        html.contains("Amount") && html.contains("Not paid"),
        "{html}"
    );
    let (said, html) = fetch("es", format!("{}/pay/nope", stack.stack.base_url())).await;
    assert_eq!(said, "es");
    assert!(html.contains("Este pago no existe."), "{html}");
}

/// `method path` with `key` and `body`, reading `language` → status, `Content-Language`,
/// body.
async fn send(
    stack: &TestStack,
    method: Method,
    path: &str,
    key: &str,
    body: Value,
    language: &str,
) -> (u16, String, Value) {
    let response = call(stack, method, path, key)
        .header("Accept-Language", language)
        .json(&body)
        .send()
        .await
        .unwrap();
    let said = response.headers()["content-language"]
        .to_str()
        .unwrap()
        .to_string();
    let (status, body) = status_and_json(response).await;
    (status, said, body)
}

fn errors(body: &Value) -> Vec<&str> {
    body["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_problem_speaks_the_callers_language_and_names_fields_as_the_api_spells_them() {
    let stack = stack().await;
    let receiver = harness::Receiver::start().await;
    let acct = stack.account("problemas@example.com").await;
    let key = &acct.test_key;

    // Three problems of one product, each in the caller's words; the fields as the API
    // spells them, the values as they were sent.
    let product = json!({ "title": "x", "price": "abc", "gateways": ["cash"] });
    let (status, said, body) = send(
        &stack,
        Method::POST,
        "/api/v2/products",
        key,
        product.clone(),
        "es",
    )
    .await;
    assert_eq!((status, said.as_str()), (400, "es"));
    let spanish = errors(&body);
    for expected in [
        "El campo title es demasiado corto (el mínimo es de 2 caracteres)",
        "El campo price debe ser un número decimal, como \"9.99\"",
        "El método de pago \"cash\" no es compatible (uno de paypal, stripe, bitcoin, ethereum, litecoin)",
    ] {
        assert!(spanish.contains(&expected), "{expected} in {spanish:?}");
    }
    let (status, said, body) =
        send(&stack, Method::POST, "/api/v2/products", key, product, "en").await;
    assert_eq!((status, said.as_str()), (400, "en"));
    let english = errors(&body);
    assert_eq!(
        english.len(),
        spanish.len(),
        "one message per problem in both"
    );
    for expected in [
        "Title is too short (minimum is 2 characters)",
        "Price must be a decimal number such as \"9.99\"",
        "Gateway \"cash\" is not supported (one of paypal, stripe, bitcoin, ethereum, litecoin)",
    ] {
        assert!(english.contains(&expected), "{expected} in {english:?}");
    }

    // The rule language's parser speaks it too, position and all.
    let rule = json!({ "name": "ZW", "rule": "country ==", "action_type": "block" });
    let (status, _, body) = send(
        &stack,
        Method::POST,
        "/api/v2/blacklist-rules",
        key,
        rule,
        "es",
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        errors(&body),
        [
            "La regla no es válida: se esperaba un valor con el que comparar, pero se encontró el final de la regla en la posición 11"
        ]
    );

    // Conflicts and idempotency: the one sentence of a 409 and a 422.
    let endpoint = json!({ "url": receiver.url("/twice"), "events": ["order:paid"] });
    let path = "/api/v2/webhooks/endpoints";
    let (status, _, body) = send(&stack, Method::POST, path, key, endpoint.clone(), "es").await;
    assert_eq!(status, 201, "{body}");
    let (status, said, body) = send(&stack, Method::POST, path, key, endpoint, "es").await;
    assert_eq!((status, said.as_str()), (409, "es"));
    assert_eq!(body["message"], "Ya existe un endpoint con esta URL");
    let once = |body: Value| {
        call(&stack, Method::POST, "/api/v2/products", key)
            .header("Accept-Language", "es-AR")
            .header("Idempotency-Key", "una-vez")
            .json(&body)
            .send()
    };
    let first = once(
        json!({ "title": "Licencia", "price": "9.99", "currency": "USD", "gateways": ["paypal"] }),
    );
    assert_eq!(first.await.unwrap().status(), 201);
    let again = once(
        json!({ "title": "Otra", "price": "9.99", "currency": "USD", "gateways": ["paypal"] }),
    );
    let (status, body) = status_and_json(again.await.unwrap()).await;
    assert_eq!(status, 422);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Esta Idempotency-Key se usó con otra solicitud")),
        "{body}"
    );

    // A dialect's own words: Pixlpay's (a Laravel app's) in Spanish when asked.
    let (status, said, body) = send(
        &stack,
        Method::POST,
        "/api/external/v1/webhooks",
        key,
        json!({ "url": "ftp://nope", "events": ["order.paid"] }),
        "es",
    )
    .await;
    assert_eq!((status, said.as_str()), (422, "es"), "{body}");
    assert_eq!(body["message"], "Los datos proporcionados no son válidos.");
    assert!(
        errors(&body)
            .iter()
            .any(|e| e.starts_with("El campo url no es una URL válida")
                || *e == "El campo url debe usar https"),
        "{body}"
    );
}

/// The text a person reads on `html`, outside code, samples and markup: each run of
/// text between tags.
fn prose(html: &str) -> Vec<String> {
    let mut text = html.to_string();
    for (open, close) in [
        ("<pre", "</pre>"),
        ("<code", "</code>"),
        ("<style", "</style>"),
        ("<script", "</script>"),
    ] {
        while let Some(start) = text.find(open) {
            let end = text[start..]
                .find(close)
                .map_or(text.len(), |end| start + end + close.len());
            text.replace_range(start..end, " ");
        }
    }
    let mut runs = Vec::new();
    let mut rest = text.as_str();
    while let Some(open) = rest.find('<') {
        runs.push(rest[..open].trim().to_string());
        rest = rest[open..]
            .find('>')
            .map_or("", |close| &rest[open + close + 1..]);
    }
    runs.push(rest.trim().to_string());
    runs.retain(|run| !run.is_empty());
    runs
}

/// The runs of `html`'s prose that read as English: words Spanish never uses.
fn english_in(html: &str) -> Vec<String> {
    const ENGLISH: [&str; 16] = [
        "the", "and", "of", "is", "its", "with", "per", "this", "your", "when", "to", "such",
        "all", "not", "yet", "any",
    ];
    prose(html)
        .into_iter()
        .filter(|run| {
            run.split(|c: char| c.is_whitespace() || c == ',' || c == ':' || c == '(')
                .any(|word| ENGLISH.contains(&word.to_lowercase().as_str()))
        })
        .collect()
}

#[tokio::test]
async fn the_portal_speaks_the_browsers_language_on_every_page() {
    use super::portal::{Portal, csrf};
    let stack = stack().await;
    let receiver = harness::Receiver::start().await;
    let acct = stack.account("portal-es@example.com").await;
    let api = stack.api(&acct.test_key);
    let endpoint = api
        .endpoints()
        .create_to(&receiver.url("/es"), &["order:paid"])
        .await;
    let ping = api.endpoints().test(endpoint.id.as_str()).await;
    assert!(ping.delivered);
    let english = Portal::open(&stack, &acct.test_key, "manage").await;
    let spanish = Portal::open(&stack, &acct.test_key, "manage")
        .await
        .speaking("es-ES,es;q=0.9,en;q=0.5");

    let id = endpoint.id.as_str();
    let pages = [
        "/portal".to_string(),
        format!("/portal/endpoints/{id}"),
        format!("/portal/endpoints/{id}?period=7d&done=saved"),
        "/portal/endpoints/new".to_string(),
        "/portal/deliveries".to_string(),
        "/portal/deliveries?recovered=2".to_string(),
        format!("/portal/deliveries/{}?done=retried", ping.log_id),
        "/portal/events".to_string(),
        "/portal/endpoints/ep_missing".to_string(),
        "/portal/deliveries?status=lost".to_string(),
    ];
    for path in &pages {
        let (_, html) = spanish.get(path).await;
        assert!(html.contains(r#"<html lang="es">"#), "{path}: {html}");
        let left = english_in(&html);
        assert!(left.is_empty(), "{path} reads English in Spanish: {left:?}");
        // The check can fail: the same page in English reads as English.
        let (_, html) = english.get(path).await;
        assert!(html.contains(r#"<html lang="en">"#), "{path}");
        assert!(
            !english_in(&html).is_empty(),
            "{path}: no English found in English"
        );
    }
    let (_, home) = spanish.get("/portal").await;
    for text in [
        "Entregas",
        "Tipos de evento",
        "Añadir un endpoint",
        "gestión",
    ] {
        assert!(home.contains(text), "{text} in {home}");
    }

    // A form's problems and an action's outcome in Spanish too.
    let (_, page) = spanish.get(&format!("/portal/endpoints/{id}")).await;
    let token = csrf(&page);
    let (status, _, html) = spanish
        .post(
            &format!("/portal/endpoints/{id}"),
            &[
                ("csrf", token.as_str()),
                ("url", "https://example.com/x"),
                ("events", "order:paid"),
                ("rate_limit", "fast"),
                ("headers", "no colon here"),
            ],
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    for text in [
        "La línea 1 de las cabeceras debe tener la forma nombre: valor",
        "El límite debe ser un número entero de entregas por segundo",
        "No se guardó:",
    ] {
        assert!(html.contains(text), "{text} in {html}");
    }
    let left = english_in(&html);
    assert!(left.is_empty(), "the refused form reads English: {left:?}");
    let (status, _, html) = spanish
        .post(
            &format!("/portal/endpoints/{id}/test"),
            &[("csrf", token.as_str())],
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert!(
        html.contains("Ping de prueba") && html.contains("Entregado"),
        "{html}"
    );
    let left = english_in(&html);
    assert!(left.is_empty(), "the test ping reads English: {left:?}");
}
