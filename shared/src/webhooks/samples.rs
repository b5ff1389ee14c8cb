//! Realistic payloads per event type, for `/webhooks/simulate` and `/test` pings.
//! Orders and products follow the objects of the PushGuard API documentation.

use super::EventType;
use serde_json::{Value, json};

fn order(status: u16) -> Value {
    json!({
        "id": "d73cf5fc-466d-433e-a109-f8de4d4c70fc",
        "product_id": "b3cadd729499",
        "ip_address": "41.117.222.111",
        "country_code": "US",
        "product_title": "Side Direct Filter",
        "user_agent": "Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/41.0.2228.0 Safari/537.36",
        "value": "10.0",
        "quantity": 1,
        "currency": "USD",
        "gateway": "PayPal",
        "risk_level": 0,
        "status": status,
        "delivered": null,
        "crypto_value": null,
        "crypto_address": null,
        "crypto_channel": null,
        "crypto_received": 0,
        "crypto_confirmations": 0,
        "referral": null,
        "usd_value": "10.0",
        "exchange_rate": "1.0",
        "coupon_id": null,
        "custom": {},
        "created_at": "2019-12-25T15:09:13.000+00:00",
        "updated_at": "2019-12-25T15:31:40.000+00:00"
    })
}

fn product() -> Value {
    json!({
        "id": "06e53c79",
        "title": "Example Product",
        "description": "This is a _example_ description",
        "stock": 0,
        "price": "12.99",
        "currency": "USD",
        "product_type": 1,
        "gateways": ["paypal", "bitcoin", "ethereum", "stripe"],
        "private": false,
        "unlisted": false,
        "webhook_url": null,
        "custom": {},
        "created_at": "2019-12-27T18:23:56.000+00:00",
        "updated_at": "2019-12-27T18:27:15.000+00:00"
    })
}

fn feedback(updated: bool) -> Value {
    json!({
        "id": "fb_7d1c2e",
        "order_id": "d73cf5fc-466d-433e-a109-f8de4d4c70fc",
        "score": 5,
        "message": "Fast delivery, works as described.",
        "reply": if updated { json!("Thank you for your feedback!") } else { Value::Null },
        "created_at": "2019-12-26T10:02:11.000+00:00",
        "updated_at": if updated { "2019-12-26T12:40:00.000+00:00" } else { "2019-12-26T10:02:11.000+00:00" }
    })
}

fn query(status: &str) -> Value {
    json!({
        "id": "qr_5a9b01",
        "email": "customer@example.com",
        "title": "Where is my key?",
        "message": "I paid but did not receive the product.",
        "status": status,
        "replies": if status == "replied" { json!([{ "message": "Resent to your email.", "created_at": "2019-12-26T13:00:00.000+00:00" }]) } else { json!([]) },
        "created_at": "2019-12-26T11:30:00.000+00:00",
        "updated_at": "2019-12-26T13:00:00.000+00:00"
    })
}

/// The sample payload of `event`.
pub fn payload(event: EventType) -> Value {
    match event {
        EventType::OrderCreated => order(0),
        EventType::OrderUpdated => order(51),
        EventType::OrderPaid => order(100),
        EventType::OrderCompleted => {
            let mut completed = order(100);
            completed["delivered"] = json!("XXXX-YYYY-ZZZZ");
            completed
        }
        EventType::ProductOutOfStock => product(),
        EventType::ProductDynamic => {
            let mut paid = order(100);
            paid["delivery_log_id"] = json!("log_01HZX3K4M5N6P7Q8R9S0T1V2W3_5f2b9c0d1e2a");
            paid
        }
        EventType::FeedbackCreated => feedback(false),
        EventType::FeedbackUpdated => feedback(true),
        EventType::QueryCreated => query("open"),
        EventType::QueryUpdated => query("open"),
        EventType::QueryReplied => query("replied"),
        EventType::WebhookPing => {
            json!({ "message": "PushGuard test ping: this endpoint is reachable." })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_has_an_object_payload() {
        for event in EventType::ALL {
            assert!(payload(event).is_object(), "{event}");
        }
        assert_eq!(payload(EventType::OrderPaid)["status"], 100);
    }
}
