//! The event catalogue: every event type with a sample payload, the tenant's own
//! registered types, and how a receiver checks a delivery's signature, in Python,
//! Node.js and Ruby (each snippet is run against a real delivery by the tests).

use super::{PageResult, Section, Viewer, page};
use axum::{extract::State, http::StatusCode};
use shared::t;
use shared::{
    AppState, html,
    html::Html,
    pagination::PageRequest,
    store::event_types,
    webhooks::{EventType, samples},
};

/// Checks a delivery the way Standard Webhooks does: `webhook-signature` holds one
/// `v1,<base64>` per secret (two while a secret is rotated), each an HMAC-SHA256 of
/// `{webhook-id}.{webhook-timestamp}.{body}` keyed by the secret after `whsec_`.
pub const PYTHON: &str = r##"import base64, hashlib, hmac, time

def verify(secret: str, headers: dict, body: bytes) -> bool:
    """headers: the request's headers, names in lower case; body: the raw bytes."""
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > 300:
        return False  # too old or from the future: a replay
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, entry.split(",", 1)[1])
        for entry in headers["webhook-signature"].split()
        if entry.startswith("v1,")
    )
"##;

pub const NODE: &str = r##"const crypto = require("node:crypto");

// headers: the request's headers, names in lower case; body: the raw Buffer.
function verify(secret, headers, body) {
  const id = headers["webhook-id"], timestamp = headers["webhook-timestamp"];
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false; // a replay
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = crypto.createHmac("sha256", key)
    .update(`${id}.${timestamp}.`).update(body).digest();
  return headers["webhook-signature"].split(" ").some((entry) => {
    const [version, signature] = entry.split(",");
    const given = Buffer.from(signature ?? "", "base64");
    return version === "v1" && given.length === expected.length &&
      crypto.timingSafeEqual(given, expected);
  });
}
"##;

pub const RUBY: &str = r##"require "base64"
require "openssl"

# headers: the request's headers, names in lower case; body: the raw body String.
def verify(secret, headers, body)
  id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
  return false if (Time.now.to_i - timestamp.to_i).abs > 300 # a replay
  key = Base64.decode64(secret.delete_prefix("whsec_"))
  expected = Base64.strict_encode64(
    OpenSSL::HMAC.digest("SHA256", key, "#{id}.#{timestamp}.#{body}"))
  headers["webhook-signature"].split(" ").any? do |entry|
    version, signature = entry.split(",", 2)
    version == "v1" && OpenSSL.secure_compare(expected, signature.to_s)
  end
end
"##;

/// `GET /portal/events`.
pub async fn show(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let custom = event_types::list(&state.db, viewer.tenant(), PageRequest::first(100)).await?;
    let builtin: Html = EventType::ALL
        .iter()
        .map(|event| {
            let sample = serde_json::to_string_pretty(&samples::payload(*event))
                .unwrap_or_default();
            let note = event.sent_only().map_or_else(Html::default, |only| {
                let note = t!("(sent only {where_to})", where_to = only);
                html!(r#" <span class="muted">{note}</span>"#, note = note)
            });
            html!(
                r#"<details id="event-{id}"><summary><code>{name}</code>{note}</summary><pre>{sample}</pre></details>"#,
                id = event.as_str().replace(':', "-"),
                name = event.as_str(),
                note = note,
                sample = sample,
            )
        })
        .collect();
    let own = if custom.items.is_empty() {
        Html::default()
    } else {
        let rows: Html = custom
            .items
            .iter()
            .map(|record| {
                html!(
                    "<tr><td><code>{name}</code></td><td>{description}</td></tr>",
                    name = record.name,
                    description = record.description.as_deref().unwrap_or_default(),
                )
            })
            .collect();
        html!(
            r#"<h3>{title}</h3><p class="muted">{note}</p><table id="custom-types"><tbody>{rows}</tbody></table>"#,
            title = t!("This account's own types"),
            note = t!("Published by the merchant with any payload."),
            rows = rows,
        )
    };
    let account = viewer.tenant().account_id();
    let link = html!(
        r#"<a class="url" href="/api/v2/webhooks/public-keys/{account}" id="public-keys">/api/v2/webhooks/public-keys/{account}</a>"#,
        account = account
    );
    // Sentences translated around markup: the catalogue's text with literal code spans
    // and the escaped link.
    let sentence = Html::from_escaped_parts;
    let body = html!(
        r#"<h2>{title}</h2><p>{intro}</p>
<div id="catalogue">{builtin}</div>{own}
<h2 id="verifying">{verifying}</h2>
<p>{signed}</p>
<table><tbody><tr><td><code>webhook-id</code></td><td>{id_header}</td></tr>
<tr><td><code>webhook-timestamp</code></td><td>{timestamp_header}</td></tr>
<tr><td><code>webhook-signature</code></td><td>{signature_header}</td></tr></tbody></table>
<h3>Python</h3><pre id="verify-python">{python}</pre>
<h3>Node.js</h3><pre id="verify-node">{node}</pre>
<h3>Ruby</h3><pre id="verify-ruby">{ruby}</pre>
<h3 id="v1a">{v1a_title}</h3>
<p>{v1a}</p>"#,
        title = t!("Event types"),
        builtin = builtin,
        own = own,
        intro = sentence(t!(
            "Each delivery is a {post} whose body is the event's object as JSON. Open a type to see a sample.",
            post = "<code>POST</code>"
        )),
        verifying = t!("Verifying a delivery"),
        signed = sentence(t!(
            "Every delivery is signed with the endpoint's secret ({prefix}, shown once when the endpoint is made or its secret rotated), as {standard} specifies. Check the signature over the raw body, before parsing it, and refuse a timestamp more than five minutes off. While a secret is rotated, {header} carries one signature per valid secret: accept any.",
            prefix = "<code>whsec_…</code>",
            standard = r#"<a href="https://www.standardwebhooks.com/">Standard Webhooks</a>"#,
            header = "<code>webhook-signature</code>"
        )),
        id_header =
            t!("the delivery's id: the same on every retry, so a receiver can drop duplicates"),
        timestamp_header = t!("when this attempt was signed, in Unix seconds"),
        signature_header = sentence(t!(
            "{prefix} + base64 HMAC-SHA256 of {signed}",
            prefix = "<code>v1,</code>",
            signed = "<code>{id}.{timestamp}.{body}</code>"
        )),
        v1a_title = sentence(t!(
            "Endpoints signed with ed25519 ({scheme})",
            scheme = "<code>v1a</code>"
        )),
        v1a = sentence(t!(
            "An endpoint set to {scheme} carries {prefix} + base64 ed25519 signatures of the same {signed}, made with this account's private key; verify them with its public keys ({key}), published without any key at {link}. No shared secret to leak.",
            scheme = "<code>v1a</code>",
            prefix = "<code>v1a,</code>",
            signed = "<code>{id}.{timestamp}.{body}</code>",
            key = "<code>whpk_</code> + base64",
            link = link.as_str()
        )),
        python = PYTHON,
        node = NODE,
        ruby = RUBY,
    );
    Ok(page(
        StatusCode::OK,
        &t!("Event types"),
        Some(&viewer),
        Section::Events,
        &body,
    ))
}
