//! The API's OpenAPI document, from every function's `operations()`: what
//! `pushguard openapi` prints and `openapi.json` (served by the account function) holds.

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    shared::openapi::document(
        [
            account::operations(),
            webhook_endpoints::operations(),
            webhook_logs::operations(),
            events::operations(),
            products::operations(),
            categories::operations(),
            orders::operations(),
            payments::operations(),
            blacklists::operations(),
            blacklist_rules::operations(),
            feedback::operations(),
            portal::operations(),
        ]
        .into_iter()
        .flatten(),
    )
}

/// The document as `openapi.json` holds it: pretty JSON and a final newline.
pub fn json() -> String {
    let mut text = document()
        .to_pretty_json()
        .expect("the document serialises");
    text.push('\n');
    text
}
