//! Feedback on orders and customers' queries: what a merchant answers.

use crate::Timestamp;
use crate::t;
use serde::{Deserialize, Serialize};

/// How a customer rated an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sentiment {
    Negative,
    Neutral,
    Positive,
}

impl Sentiment {
    /// From a 1–5 score: 4 and 5 are positive, 3 neutral, below negative.
    pub fn of(score: u8) -> Sentiment {
        match score {
            4.. => Sentiment::Positive,
            3 => Sentiment::Neutral,
            _ => Sentiment::Negative,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Feedback {
    #[schema(value_type = String)]
    pub id: crate::ids::FeedbackId,
    pub order_id: String,
    pub product_id: String,
    pub message: String,
    pub score: u8,
    pub feedback: Sentiment,
    /// The merchant's public answer.
    pub reply: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Feedback {
    /// One feedback per order: its id is derived from the order's.
    pub fn id_for(order: &crate::ids::OrderId) -> crate::ids::FeedbackId {
        crate::ids::Id::derived(format!("fb_{}", order.unprefixed()))
    }
}

/// Where a query stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum QueryStatus {
    /// Waiting for the merchant.
    Pending,
    /// The merchant replied last.
    Answered,
    Closed,
}

impl std::str::FromStr for QueryStatus {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "pending" => Ok(QueryStatus::Pending),
            "answered" => Ok(QueryStatus::Answered),
            "closed" => Ok(QueryStatus::Closed),
            _ => Err(t!(
                "Status {text:?} is not one of pending, answered, closed",
                text
            )),
        }
    }
}

/// One message of a query's conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueryMessage {
    /// `customer` or `merchant`.
    pub role: String,
    pub message: String,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Query {
    #[schema(value_type = String)]
    pub id: crate::ids::QueryId,
    pub title: String,
    pub email: String,
    pub order_id: Option<String>,
    pub status: QueryStatus,
    pub messages: Vec<QueryMessage>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_map_to_sentiment() {
        assert_eq!(Sentiment::of(5), Sentiment::Positive);
        assert_eq!(Sentiment::of(4), Sentiment::Positive);
        assert_eq!(Sentiment::of(3), Sentiment::Neutral);
        assert_eq!(Sentiment::of(1), Sentiment::Negative);
    }
}
