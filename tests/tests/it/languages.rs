//! Languages: every answer says its language in `Content-Language`, chosen by the
//! caller's `Accept-Language` (quality values honoured): the API's fixed messages and
//! the hosted payment page in English or Spanish; Conekta's dialect in Spanish unless
//! asked for English. Codes, field names and statuses never change with the language.

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
