//! Products: what a merchant sells, with its price, gateways and stock.

use super::money::{Amount, Currency, Gateway};
use crate::Timestamp;
use crate::t;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use serde_json::Value;
use std::fmt;

/// How much of a product is left: unlimited (`"∞"`) or a count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stock {
    Unlimited,
    Count(u64),
}

pub const UNLIMITED: &str = "∞";

impl Stock {
    /// Whether `quantity` can be taken.
    pub fn covers(&self, quantity: u32) -> bool {
        match self {
            Stock::Unlimited => true,
            Stock::Count(count) => *count >= u64::from(quantity),
        }
    }
}

impl Serialize for Stock {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Stock::Unlimited => serializer.serialize_str(UNLIMITED),
            Stock::Count(count) => serializer.serialize_u64(*count),
        }
    }
}

impl<'de> Deserialize<'de> for Stock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StockVisitor;
        impl de::Visitor<'_> for StockVisitor {
            type Value = Stock;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"∞\" or a non-negative integer")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Stock, E> {
                Ok(Stock::Count(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Stock, E> {
                u64::try_from(v)
                    .map(Stock::Count)
                    .map_err(|_| E::custom(t!("stock cannot be negative")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Stock, E> {
                if v >= 0.0 && v.fract() == 0.0 && v < u64::MAX as f64 {
                    Ok(Stock::Count(v as u64))
                } else {
                    Err(E::custom(t!("stock must be a non-negative integer")))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Stock, E> {
                if v == UNLIMITED {
                    Ok(Stock::Unlimited)
                } else {
                    v.parse()
                        .map(Stock::Count)
                        .map_err(|_| E::custom(t!("stock must be \"∞\" or a non-negative integer")))
                }
            }
        }
        deserializer.deserialize_any(StockVisitor)
    }
}

/// What kind of goods a product delivers (the seed's `product_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProductType {
    File = 1,
    /// Serial numbers or licence keys in `info`, split by `stock_delimiter`; one is
    /// delivered per unit sold, so the stock is their count.
    Serials = 2,
    Service = 3,
    Dynamic = 4,
}

impl TryFrom<u64> for ProductType {
    type Error = String;
    fn try_from(code: u64) -> Result<Self, String> {
        match code {
            1 => Ok(ProductType::File),
            2 => Ok(ProductType::Serials),
            3 => Ok(ProductType::Service),
            4 => Ok(ProductType::Dynamic),
            _ => Err(t!(
                "Product type must be 1 (file), 2 (serials), 3 (service) or 4 (dynamic)"
            )),
        }
    }
}

impl Serialize for ProductType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(*self as u64)
    }
}

impl<'de> Deserialize<'de> for ProductType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ProductType::try_from(u64::deserialize(deserializer)?).map_err(de::Error::custom)
    }
}

/// A product, as stored and as the API shows it (the seed's field names).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Product {
    #[schema(value_type = String)]
    pub id: crate::ids::ProductId,
    pub title: String,
    pub description: Option<String>,
    pub stock: Stock,
    pub price: Amount,
    pub currency: Currency,
    pub product_type: ProductType,
    pub gateways: Vec<Gateway>,
    pub private: bool,
    pub unlisted: bool,
    pub vpn_block: bool,
    pub seller_note: Option<String>,
    pub maximum_quantity: Option<u32>,
    pub minimum_quantity: u32,
    pub stock_delimiter: String,
    pub stock_amount: Option<u64>,
    /// Its picture (an upload attached as `image`), served to anyone at its `url`.
    pub image: Option<super::media::StoredObject>,
    pub theme: u32,
    pub crypto_confirmations: u32,
    pub max_risk_level: u32,
    pub dynamic_url: Option<String>,
    pub info: Option<String>,
    /// What a file product sells (an upload attached as `file`): its `url` is always
    /// null; the customer who paid downloads it from the payment page.
    pub file: Option<super::media::StoredObject>,
    pub paypal_email_delivery: bool,
    pub webhook_url: Option<String>,
    pub custom: Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The serials of `info` (trimmed, empty pieces skipped).
pub fn serials<'a>(info: &'a str, delimiter: &'a str) -> impl Iterator<Item = &'a str> {
    info.split(delimiter)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

impl Product {
    /// Takes `quantity` units: the product afterwards, and what was delivered (the
    /// serials, for serial products). `None` if there is not enough stock.
    pub fn take(&self, quantity: u32) -> Option<(Product, Option<String>)> {
        if !self.stock.covers(quantity) {
            return None;
        }
        let mut after = self.clone();
        let mut delivered = None;
        if let Stock::Count(count) = self.stock {
            after.stock = Stock::Count(count - u64::from(quantity));
        }
        if self.product_type == ProductType::Serials {
            let info = self.info.as_deref().unwrap_or_default();
            let all: Vec<&str> = serials(info, &self.stock_delimiter).collect();
            let (taken, left) = all.split_at((quantity as usize).min(all.len()));
            delivered = Some(taken.join("\n"));
            after.info = Some(left.join(&self.stock_delimiter));
            after.stock = Stock::Count(left.len() as u64);
        }
        Some((after, delivered))
    }

    /// Whether taking stock just emptied it.
    pub fn ran_out(before: &Product, after: &Product) -> bool {
        before.stock != Stock::Count(0) && after.stock == Stock::Count(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn product(stock: Stock) -> Product {
        Product {
            id: crate::ids::ProductId::new(),
            title: "Key".into(),
            description: None,
            stock,
            price: Amount::parse("9.99").unwrap(),
            currency: "USD".parse().unwrap(),
            product_type: ProductType::Service,
            gateways: vec![Gateway::Paypal],
            private: false,
            unlisted: false,
            vpn_block: false,
            seller_note: None,
            maximum_quantity: None,
            minimum_quantity: 1,
            stock_delimiter: ",".into(),
            stock_amount: None,
            image: None,
            theme: 1,
            crypto_confirmations: 1,
            max_risk_level: 30,
            dynamic_url: None,
            info: None,
            file: None,
            paypal_email_delivery: false,
            webhook_url: None,
            custom: json!({}),
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
        }
    }

    #[test]
    fn stock_reads_and_writes_infinity_or_a_count() {
        assert_eq!(serde_json::to_value(Stock::Unlimited).unwrap(), json!("∞"));
        assert_eq!(serde_json::to_value(Stock::Count(3)).unwrap(), json!(3));
        assert_eq!(
            serde_json::from_value::<Stock>(json!("∞")).unwrap(),
            Stock::Unlimited
        );
        assert_eq!(
            serde_json::from_value::<Stock>(json!(7)).unwrap(),
            Stock::Count(7)
        );
        assert!(serde_json::from_value::<Stock>(json!(-1)).is_err());
        assert!(serde_json::from_value::<Stock>(json!(1.5)).is_err());
        assert!(serde_json::from_value::<Stock>(json!("lots")).is_err());
    }

    #[test]
    fn taking_stock_never_goes_below_zero() {
        let p = product(Stock::Count(2));
        let (after, delivered) = p.take(2).unwrap();
        assert_eq!(after.stock, Stock::Count(0));
        assert_eq!(delivered, None);
        assert!(Product::ran_out(&p, &after));
        assert!(p.take(3).is_none());
        assert_eq!(
            product(Stock::Unlimited).take(1000).unwrap().0.stock,
            Stock::Unlimited
        );
    }

    #[test]
    fn serial_products_deliver_their_serials() {
        let mut p = product(Stock::Count(3));
        p.product_type = ProductType::Serials;
        p.info = Some("AAA, BBB ,CCC".into());
        let (after, delivered) = p.take(2).unwrap();
        assert_eq!(delivered.as_deref(), Some("AAA\nBBB"));
        assert_eq!(after.info.as_deref(), Some("CCC"));
        assert_eq!(after.stock, Stock::Count(1));
    }
}
