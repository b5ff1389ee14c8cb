//! Dialects: the webhook APIs of other providers that PushGuard also serves (the seeds
//! 001 to 004), so a merchant moving from one keeps its client and its receiver. An
//! endpoint remembers the dialect it was created through, and that decides how its
//! deliveries look: the body, the event names, the extra signature headers, which
//! answers count as success and how many attempts there are. These are the delivery
//! engine's format hooks, pure functions of the delivery; the dialects' HTTP routes
//! live at the edge (`crate::dialects`).

use crate::{Mode, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The API an endpoint was created through.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// PushGuard's own API (`/api/v2/webhooks/endpoints`).
    #[default]
    PushGuard,
    /// Conekta's webhooks API (`/webhooks`).
    Conekta,
    /// Paybyrd's webhook settings (`/api/v2/webhooks`).
    Paybyrd,
    /// Pixlpay's external API (`/api/external/v1/webhooks`).
    Pixlpay,
    /// The Key/Sign subscription API (`/api/v1/subscription/webhook`).
    KeySign,
}

/// PushGuard's event types and the names a dialect gives them. Conekta and Pixlpay
/// write `resource.action`: `order.paid`, and Pixlpay's `order.completed` (fulfilled)
/// is PushGuard's `order:completed`, sent when an order's `delivered` is set.
const DOTTED: [(&str, &str); 11] = [
    ("order:created", "order.created"),
    ("order:updated", "order.updated"),
    ("order:paid", "order.paid"),
    ("order:completed", "order.completed"),
    ("product:out_of_stock", "product.out_of_stock"),
    ("feedback:created", "feedback.created"),
    ("feedback:updated", "feedback.updated"),
    ("query:created", "query.created"),
    ("query:updated", "query.updated"),
    ("query:replied", "query.replied"),
    ("webhook:ping", "webhook.ping"),
];

/// What the engine knows of a delivery when it shapes it.
pub struct Delivery<'a> {
    /// The delivery's id: its log's (stable across retries).
    pub id: &'a str,
    /// The event's id, when the delivery is of a stored event (not a test ping).
    pub event_id: Option<&'a str>,
    /// PushGuard's event type, e.g. `order:paid`.
    pub event_type: &'a str,
    pub created_at: Timestamp,
    /// The event's object.
    pub payload: &'a Value,
    pub mode: Mode,
    /// The account whose event it is.
    pub account_id: &'a str,
    /// The endpoint it goes to.
    pub endpoint_id: &'a str,
}

impl Dialect {
    pub const ALL: [Dialect; 5] = [
        Dialect::PushGuard,
        Dialect::Conekta,
        Dialect::Paybyrd,
        Dialect::Pixlpay,
        Dialect::KeySign,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::PushGuard => "pushguard",
            Dialect::Conekta => "conekta",
            Dialect::Paybyrd => "paybyrd",
            Dialect::Pixlpay => "pixlpay",
            Dialect::KeySign => "keysign",
        }
    }

    /// The name this dialect gives PushGuard's event type `event_type` (custom types keep
    /// their own name, with the dot spelling where the dialect writes one).
    pub fn event_name(self, event_type: &str) -> String {
        match self {
            Dialect::Conekta | Dialect::Pixlpay => DOTTED
                .iter()
                .find(|(ours, _)| *ours == event_type)
                .map_or_else(
                    || event_type.replacen(':', ".", 1),
                    |(_, theirs)| theirs.to_string(),
                ),
            _ => event_type.to_string(),
        }
    }

    /// PushGuard's event type for a name in this dialect, `None` when it names none.
    pub fn event_type(self, name: &str) -> Option<&'static str> {
        DOTTED
            .iter()
            .find(|(_, theirs)| *theirs == name)
            .map(|(ours, _)| *ours)
            .filter(|ours| *ours != "webhook:ping")
    }

    /// The names a merchant may subscribe to in this dialect, PushGuard's order.
    pub fn event_names(self) -> Vec<String> {
        DOTTED
            .iter()
            .filter(|(ours, _)| *ours != "webhook:ping")
            .map(|(ours, _)| self.event_name(ours))
            .collect()
    }

    /// The body of `delivery` to an endpoint of this dialect.
    pub fn body(self, delivery: &Delivery<'_>) -> Value {
        match self {
            Dialect::PushGuard => delivery.payload.clone(),
            // Conekta's event object: the resource under `data.object`.
            Dialect::Conekta => json!({
                "id": delivery.event_id.unwrap_or(delivery.id),
                "object": "event",
                "type": self.event_name(delivery.event_type),
                "livemode": delivery.mode == Mode::Live,
                "created_at": delivery.created_at.as_epoch_seconds(),
                "webhook_status": "pending",
                "data": { "object": delivery.payload, "previous_attributes": {} },
            }),
            // Paybyrd names what changed; the receiver fetches the payment's status.
            Dialect::Paybyrd => {
                let order = delivery.payload.get("id").cloned().unwrap_or(Value::Null);
                json!({
                    "webhookId": delivery.endpoint_id,
                    "contextType": "event:paymentStatusChanged",
                    "paymentId": order,
                    "transactionId": order,
                    "orderId": order,
                })
            }
            Dialect::Pixlpay => json!({
                "id": delivery.id,
                "event_type": self.event_name(delivery.event_type),
                "created_at": delivery.created_at,
                "data": delivery.payload,
            }),
            Dialect::KeySign => json!({
                "requestId": delivery.id,
                "event": delivery.event_type,
                "timestamp": delivery.created_at.as_millis(),
                "account": delivery.account_id,
                "data": delivery.payload,
            }),
        }
    }

    /// Headers a delivery of `body` carries in this dialect beside PushGuard's own,
    /// signed with the endpoint's current `secret`.
    pub fn headers(
        self,
        log_id: &str,
        event_type: &str,
        body: &[u8],
        secret: &str,
    ) -> Vec<(String, String)> {
        match self {
            // Pixlpay's receivers check hex HMAC-SHA256 of the raw body keyed with the
            // whole `whsec_` secret; its documents name the header both ways.
            Dialect::Pixlpay => {
                let signature = super::signing::hex_hmac_sha256(secret, body);
                vec![
                    ("x-pixlpay-signature".into(), signature.clone()),
                    ("x-webhook-signature".into(), signature),
                    ("x-webhook-event".into(), self.event_name(event_type)),
                    ("x-webhook-id".into(), log_id.to_string()),
                ]
            }
            // The channel's pair: its public key names it, its secret key signs.
            Dialect::KeySign => vec![
                ("key".into(), keysign_public_key(secret)),
                ("sign".into(), super::signing::hex_hmac_sha256(secret, body)),
            ],
            _ => Vec::new(),
        }
    }

    /// Whether `header` (lowercase) is one of the signatures this dialect adds, which a
    /// log keeps masked: they cover the body alone, so whoever reads one could replay
    /// the delivery to a receiver that checks it.
    pub fn is_signature(self, header: &str) -> bool {
        match self {
            Dialect::Pixlpay => matches!(header, "x-pixlpay-signature" | "x-webhook-signature"),
            Dialect::KeySign => header == "sign",
            _ => false,
        }
    }

    /// Whether a receiver's `status` counts as delivered: any 2xx, but Paybyrd counts
    /// only 200, 201 and 202.
    pub fn accepts(self, status: u16) -> bool {
        match self {
            Dialect::Paybyrd => matches!(status, 200..=202),
            _ => (200..300).contains(&status),
        }
    }

    /// Retries after the first attempt, when the dialect promises its own number
    /// (Paybyrd: 12 attempts); `None` for the configured schedule's.
    pub fn retry_limit(self) -> Option<u32> {
        match self {
            Dialect::Paybyrd => Some(11),
            _ => None,
        }
    }
}

/// A Key/Sign channel's `publicKey`: a name of its secret key that reveals nothing of
/// it (SHA-256, cut to 32 hex digits), so it changes when the secret is regenerated.
pub fn keysign_public_key(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("pushguard keysign public key\n{secret}"));
    format!("pk_{}", &hex::encode(digest)[..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_dialects_name_every_event_and_read_their_names_back() {
        for dialect in [Dialect::Conekta, Dialect::Pixlpay] {
            for (ours, _) in DOTTED.iter().filter(|(o, _)| *o != "webhook:ping") {
                let theirs = dialect.event_name(ours);
                assert_eq!(
                    dialect.event_type(&theirs),
                    Some(*ours),
                    "{dialect:?} {theirs}"
                );
            }
            assert_eq!(dialect.event_name("webhook:ping"), "webhook.ping");
            assert_eq!(
                dialect.event_type("webhook.ping"),
                None,
                "pings are not subscribed to"
            );
        }
        assert_eq!(
            Dialect::Pixlpay.event_type("order.completed"),
            Some("order:completed")
        );
        assert_eq!(Dialect::PushGuard.event_name("order:paid"), "order:paid");
        assert!(
            Dialect::Pixlpay
                .event_names()
                .contains(&"order.completed".to_string())
        );
        assert_eq!(
            Dialect::Conekta.event_name("shipment:sent"),
            "shipment.sent"
        );
    }

    #[test]
    fn each_dialect_shapes_the_body_its_receivers_read() {
        let payload = json!({ "id": "ord_1", "status": 100 });
        let at = Timestamp::parse("2026-01-02T03:04:05.000+00:00").unwrap();
        let delivery = Delivery {
            id: "msg_1",
            event_id: Some("evt_1"),
            event_type: "order:paid",
            created_at: at,
            payload: &payload,
            mode: Mode::Test,
            account_id: "acct_1",
            endpoint_id: "ep_1",
        };
        assert_eq!(Dialect::PushGuard.body(&delivery), payload);
        let conekta = Dialect::Conekta.body(&delivery);
        assert_eq!(conekta["object"], "event");
        assert_eq!(conekta["type"], "order.paid");
        assert_eq!(conekta["id"], "evt_1");
        assert_eq!(conekta["livemode"], false);
        assert_eq!(conekta["created_at"], at.as_epoch_seconds());
        assert_eq!(conekta["data"]["object"], payload);
        assert_eq!(
            Dialect::Paybyrd.body(&delivery),
            json!({
                "webhookId": "ep_1",
                "contextType": "event:paymentStatusChanged",
                "paymentId": "ord_1",
                "transactionId": "ord_1",
                "orderId": "ord_1",
            })
        );
        let pixlpay = Dialect::Pixlpay.body(&delivery);
        assert_eq!(pixlpay["event_type"], "order.paid");
        assert_eq!(pixlpay["data"], payload);
        assert_eq!(pixlpay["id"], "msg_1");
        let keysign = Dialect::KeySign.body(&delivery);
        assert_eq!(keysign["account"], "acct_1");
        assert_eq!(keysign["data"], payload);
    }

    #[test]
    fn a_keysign_delivery_carries_the_channels_public_key_and_signs_with_its_secret() {
        let headers = Dialect::KeySign.headers("msg_1", "order:paid", b"{}", "whsec_abc");
        let key = &headers.iter().find(|(n, _)| n == "key").unwrap().1;
        assert_eq!(key, &keysign_public_key("whsec_abc"));
        assert!(key.starts_with("pk_") && key.len() == 35);
        assert_ne!(
            keysign_public_key("whsec_abd"),
            *key,
            "a new secret, a new key"
        );
        assert!(!key.contains("abc"));
        let sign = &headers.iter().find(|(n, _)| n == "sign").unwrap().1;
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"whsec_abc", b"{}", hashlib.sha256).hexdigest())'
        assert_eq!(
            sign,
            "a7e20c39a3bd9a0d00109906483a125cba27c676f9feabcde8702361770cc020"
        );
    }

    #[test]
    fn pixlpay_signs_the_raw_body_with_the_whole_secret() {
        let headers = Dialect::Pixlpay.headers("msg_1", "order:paid", b"{}", "whsec_abc");
        let signature = &headers
            .iter()
            .find(|(n, _)| n == "x-pixlpay-signature")
            .unwrap()
            .1;
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"whsec_abc", b"{}", hashlib.sha256).hexdigest())'
        assert_eq!(
            signature,
            "a7e20c39a3bd9a0d00109906483a125cba27c676f9feabcde8702361770cc020"
        );
        assert!(
            Dialect::PushGuard
                .headers("m", "order:paid", b"{}", "s")
                .is_empty()
        );
    }

    #[test]
    fn paybyrd_counts_only_200_201_and_202_and_makes_twelve_attempts() {
        for status in [200, 201, 202] {
            assert!(Dialect::Paybyrd.accepts(status));
        }
        for status in [203, 204, 299, 301, 500] {
            assert!(!Dialect::Paybyrd.accepts(status), "{status}");
        }
        assert!(Dialect::Pixlpay.accepts(204));
        assert_eq!(Dialect::Paybyrd.retry_limit(), Some(11));
        assert_eq!(Dialect::Conekta.retry_limit(), None);
    }
}
