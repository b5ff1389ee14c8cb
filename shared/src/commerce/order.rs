//! Orders: what a payment creates, and what its status changes are.

use super::money::{Amount, Currency, Gateway};
use crate::Timestamp;
use crate::t;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use serde_json::Value;

/// The seed's order status codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderStatus {
    NotPaid = 0,
    Chargeback = 51,
    HighRisk = 52,
    PartiallyPaid = 53,
    AwaitingConfirmations = 54,
    PendingPaypal = 55,
    Refunded = 56,
    Paid = 100,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 8] = [
        OrderStatus::NotPaid,
        OrderStatus::Chargeback,
        OrderStatus::HighRisk,
        OrderStatus::PartiallyPaid,
        OrderStatus::AwaitingConfirmations,
        OrderStatus::PendingPaypal,
        OrderStatus::Refunded,
        OrderStatus::Paid,
    ];

    pub fn code(&self) -> u16 {
        *self as u16
    }

    pub fn from_code(code: u64) -> Option<OrderStatus> {
        OrderStatus::ALL
            .into_iter()
            .find(|s| u64::from(s.code()) == code)
    }

    /// What the hosted payment page says (the seed's words), in English.
    pub fn describe(&self) -> String {
        self.describe_in(crate::language::Language::English)
    }

    /// What the hosted payment page says, in `language`.
    pub fn describe_in(&self, language: crate::language::Language) -> String {
        match self {
            OrderStatus::NotPaid => t!(language => "Not paid"),
            OrderStatus::Chargeback => t!(language => "Chargeback/Reversed"),
            OrderStatus::HighRisk => t!(language => "High risk"),
            OrderStatus::PartiallyPaid => t!(language => "Partially paid"),
            OrderStatus::AwaitingConfirmations => {
                t!(language => "Awaiting Cryptocurrency confirmations")
            }
            OrderStatus::PendingPaypal => t!(language => "Pending - PayPal"),
            OrderStatus::Refunded => t!(language => "Refunded"),
            OrderStatus::Paid => t!(language => "Successful and completed"),
        }
    }

    /// Whether an order may move from `self` to `next`. Paid is final except for the
    /// money coming back (refund, chargeback); those are final too.
    pub fn may_become(&self, next: OrderStatus) -> bool {
        match self {
            OrderStatus::Paid => matches!(
                next,
                OrderStatus::Paid | OrderStatus::Refunded | OrderStatus::Chargeback
            ),
            OrderStatus::Refunded | OrderStatus::Chargeback => *self == next,
            _ => true,
        }
    }
}

impl Serialize for OrderStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u16(self.code())
    }
}

impl<'de> Deserialize<'de> for OrderStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = u64::deserialize(deserializer)?;
        OrderStatus::from_code(code)
            .ok_or_else(|| de::Error::custom(format!("unknown order status {code}")))
    }
}

/// `product_id` of an order that buys no product: a plain payment.
pub const PAY_PRODUCT_ID: &str = "pay";

/// An order, as stored and as the API shows it (the seed's field names, plus the
/// payment's customer, return and webhook details).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Order {
    #[schema(value_type = String)]
    pub id: crate::ids::OrderId,
    pub title: String,
    /// The product bought, or `"pay"`.
    pub product_id: String,
    pub product_title: Option<String>,
    /// The customer's email: null until the customer gives it on the payment page, for
    /// a payment made without one (the seed's `Payments.create` example).
    pub email: Option<String>,
    pub ip_address: Option<String>,
    pub country_code: Option<String>,
    pub user_agent: Option<String>,
    /// The total charged (price × quantity when a product is bought).
    pub value: Amount,
    pub quantity: u32,
    pub currency: Currency,
    /// As the seed shows it: `"PayPal"`, `"Bitcoin"`, ...
    #[serde(with = "super::money::gateway_name")]
    #[schema(value_type = String, example = "PayPal")]
    pub gateway: Gateway,
    pub risk_level: u32,
    pub status: OrderStatus,
    /// What was handed over: serials taken from the product, what a dynamic product's
    /// `dynamic_url` answered, or the merchant's text.
    pub delivered: Option<String>,
    /// For a dynamic product: the webhook log of the call to its `dynamic_url`, whose
    /// answer becomes `delivered` (`GET /webhooks/logs/{id}` shows each attempt,
    /// `POST /webhooks/logs/{id}/retry` tries again). Null for any other order.
    #[serde(default)]
    pub delivery_log_id: Option<String>,
    pub crypto_value: Option<String>,
    pub crypto_address: Option<String>,
    pub crypto_channel: Option<String>,
    pub crypto_received: u64,
    pub crypto_confirmations: u32,
    pub referral: Option<String>,
    /// Known only for USD orders: PushGuard has no exchange rates.
    pub usd_value: Option<Amount>,
    pub exchange_rate: Option<String>,
    pub coupon_id: Option<String>,
    pub custom: Value,
    pub return_url: Option<String>,
    pub webhook_url: Option<String>,
    pub white_label: bool,
    /// Set when the payment was cancelled (`DELETE /payments/{id}`); it can no longer be paid.
    pub cancelled_at: Option<Timestamp>,
    /// Set when the order was paid (status 100): stock was taken then.
    pub paid_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Order {
    pub fn is_product_order(&self) -> bool {
        self.product_id != PAY_PRODUCT_ID
    }

    /// Whether the customer paid and waits for what a dynamic product's `dynamic_url`
    /// answers.
    pub fn awaits_delivery(&self) -> bool {
        self.status == OrderStatus::Paid
            && self.delivery_log_id.is_some()
            && self.delivered.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_the_seed_codes() {
        let codes: Vec<u16> = OrderStatus::ALL.iter().map(OrderStatus::code).collect();
        assert_eq!(codes, [0, 51, 52, 53, 54, 55, 56, 100]);
        assert_eq!(OrderStatus::from_code(52), Some(OrderStatus::HighRisk));
        assert_eq!(OrderStatus::from_code(1), None);
        assert_eq!(serde_json::to_string(&OrderStatus::Paid).unwrap(), "100");
    }

    #[test]
    fn a_paid_order_can_only_be_refunded_or_reversed() {
        assert!(OrderStatus::NotPaid.may_become(OrderStatus::Paid));
        assert!(OrderStatus::HighRisk.may_become(OrderStatus::Paid));
        assert!(OrderStatus::Paid.may_become(OrderStatus::Refunded));
        assert!(!OrderStatus::Paid.may_become(OrderStatus::NotPaid));
        assert!(!OrderStatus::Refunded.may_become(OrderStatus::Paid));
    }
}
