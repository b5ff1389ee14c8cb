//! Dynamic products: when an order of one is paid, its `dynamic_url` is called with the
//! order (event `product:dynamic`, signed like a `webhook_url`, logged and retried like
//! any delivery), and what it answers is what the customer gets: it becomes the
//! order's `delivered`, with `order:updated` and `order:completed`.
//!
//! The answer must be something a customer can be handed: UTF-8 text, not empty, no
//! control characters but tabs and line breaks, at most [`MAX_ANSWER_BYTES`]. Any
//! other 2xx counts as a failed attempt that says why, and is retried; the order stays
//! paid and undelivered meanwhile.

use super::{DeliveryError, DeliveryResult, Engine};
use crate::{
    Tenant, Timestamp,
    commerce::{Order, OrderStatus, Product, ProductType, order_event},
    events::Event,
    store::{
        StoreError,
        error::Rejection,
        resources::{self, Change, Outbox},
    },
    webhooks::{EventType, WebhookLog, log::delivery_id, outbound::Attempt},
};
use url::Url;

/// The longest answer kept: what the outbound client reads of any response.
pub const MAX_ANSWER_BYTES: usize = crate::webhooks::outbound::MAX_RESPONSE_BYTES;

/// The call to `product`'s `dynamic_url` that paying `order` makes, if it is a dynamic
/// product: the `product:dynamic` event to commit with the payment. The order learns
/// the id its delivery's log will have (`delivery_log_id`), and is the event's payload.
pub fn call(order: &mut Order, product: &Product) -> Option<Event> {
    if product.product_type != ProductType::Dynamic {
        return None;
    }
    let url = Url::parse(product.dynamic_url.as_deref()?).ok()?;
    let mut event = Event::new(EventType::ProductDynamic, serde_json::Value::Null);
    // The id the fan-out gives the delivery of this event's first run to this URL.
    order.delivery_log_id = Some(delivery_id(&event.id, 0, url.as_str()).to_string());
    event.payload = serde_json::to_value(&*order).unwrap_or_default();
    event.webhook_urls = vec![url.to_string()];
    Some(event)
}

/// Whether deliveries of `event_type` fulfil an order with their answer.
pub fn fulfils(event_type: &str) -> bool {
    event_type == EventType::ProductDynamic.as_str()
}

/// What the customer gets from `attempt`'s answer, or why it cannot be given to them.
/// Leading and trailing whitespace is not part of it.
pub fn answer(attempt: &Attempt) -> Result<&str, String> {
    if attempt.body_cut {
        return Err(format!(
            "The answer is longer than {MAX_ANSWER_BYTES} bytes; a dynamic product answers with what the customer gets, as text"
        ));
    }
    if attempt.body_binary {
        return Err("The answer is not UTF-8 text".into());
    }
    let text = attempt.body.trim();
    if text.is_empty() {
        return Err("The answer is empty: there is nothing to give the customer".into());
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err("The answer holds control characters".into());
    }
    Ok(text)
}

/// Turns a 2xx whose answer cannot be given to the customer into a failed attempt
/// whose body says why (the log shows it; the retry schedule applies).
pub fn judge(attempt: &mut Attempt) {
    if !attempt.succeeded() {
        return;
    }
    if let Err(reason) = answer(attempt) {
        attempt.unaccepted = true;
        attempt.body = reason;
    }
}

/// Writes `answer` as the `delivered` of the order `log` delivered, with its events, if
/// the order is still paid and undelivered (a redelivered message, a manual retry or a
/// merchant's own `PUT` may have delivered it already: then nothing changes).
pub async fn fulfil(
    engine: &Engine<'_>,
    tenant: &Tenant,
    log: &WebhookLog,
    answer: &str,
) -> DeliveryResult<()> {
    let Some(order_id) = log.payload.get("id").and_then(|id| id.as_str()) else {
        return Err(DeliveryError::broken(format!(
            "log {} carries no order id",
            log.id
        )));
    };
    const ATTEMPTS: u32 = 8;
    let mut tries = 0;
    loop {
        tries += 1;
        match deliver(engine, tenant, order_id, answer).await {
            Err(StoreError::Rejected(Rejection::Changed(_))) if tries < ATTEMPTS => {
                let jitter = rand::random_range(0..=(5u64 << tries.min(5)));
                tokio::time::sleep(std::time::Duration::from_millis(jitter)).await;
            }
            other => return Ok(other?),
        }
    }
}

/// One attempt at [`fulfil`], on the order as it is now.
async fn deliver(
    engine: &Engine<'_>,
    tenant: &Tenant,
    order_id: &str,
    answer: &str,
) -> Result<(), StoreError> {
    let Some(before) = resources::resolve::<Order>(engine.db, tenant, order_id).await? else {
        tracing::warn!(
            order = order_id,
            "dynamic product answered for an order that is gone"
        );
        return Ok(());
    };
    let order = &before.value;
    if order.status != OrderStatus::Paid || order.delivered.is_some() {
        tracing::info!(
            order = order_id,
            status = order.status.code(),
            "order not waiting for its dynamic product: answer kept on the log only"
        );
        return Ok(());
    }
    let after = Order {
        delivered: Some(answer.to_string()),
        updated_at: Timestamp::now(),
        ..order.clone()
    };
    let product = resources::resolve::<Product>(engine.db, tenant, &order.product_id).await?;
    let product = product.as_ref().map(|p| &p.value);
    let outbox = Outbox {
        queues: engine.queues,
        retention_days: engine.retention_days,
    };
    Change::new(engine.db, tenant)
        .update(&before, &after)?
        .emit(order_event(EventType::OrderUpdated, &after, product))
        .emit(order_event(EventType::OrderCompleted, &after, product))
        .commit(outbox)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(body: &str) -> Attempt {
        Attempt {
            status: Some(200),
            body: body.into(),
            ..Attempt::default()
        }
    }

    #[test]
    fn a_text_answer_is_what_the_customer_gets_trimmed() {
        assert_eq!(answer(&answered("  LIC-1234-ABCD\n")), Ok("LIC-1234-ABCD"));
        assert_eq!(
            answer(&answered("line one\n\tline two")),
            Ok("line one\n\tline two")
        );
    }

    #[test]
    fn empty_cut_binary_or_control_answers_are_refused_and_say_why() {
        for (attempt, why) in [
            (answered(" \n"), "empty"),
            (answered("key\u{1b}[2J"), "control characters"),
            (
                Attempt {
                    body_cut: true,
                    ..answered("xxxx")
                },
                "longer than 8192 bytes",
            ),
            (
                Attempt {
                    body_binary: true,
                    ..answered("\u{fffd}")
                },
                "not UTF-8",
            ),
        ] {
            let reason = answer(&attempt).unwrap_err();
            assert!(reason.contains(why), "{reason}");
            let mut judged = attempt.clone();
            judge(&mut judged);
            assert!(!judged.succeeded(), "a refused answer is a failed attempt");
            assert_eq!(judged.body, reason, "the log says why");
        }
    }

    #[test]
    fn only_answers_of_a_2xx_are_judged() {
        let mut failed = Attempt {
            status: Some(500),
            ..answered("")
        };
        judge(&mut failed);
        assert_eq!(failed.body, "", "a failure keeps what the receiver said");
        let mut good = answered("KEY");
        judge(&mut good);
        assert!(good.succeeded());
    }
}
