//! Prices and payment values as exact decimals, ISO 4217 currencies, and the gateways a
//! customer can pay with.

use crate::t;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::{fmt, str::FromStr};

/// Digits before the point an amount may have.
const MAX_WHOLE_DIGITS: usize = 12;
/// Digits after the point (8: satoshi precision for crypto gateways).
const MAX_FRACTION_DIGITS: usize = 8;

/// A non-negative decimal amount, kept as the exact digits the client sent ("12.99"),
/// never as a float.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Amount(String);

impl Amount {
    /// Reads "12.99"-style text; leading zeros are dropped ("007.50" is "7.50").
    pub fn parse(text: &str) -> Result<Amount, String> {
        let text = text.trim();
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (text, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
            return Err(t!("must be a decimal number such as \"9.99\""));
        }
        let whole = whole.trim_start_matches('0');
        if whole.len() > MAX_WHOLE_DIGITS {
            return Err(t!(
                "must be less than 10^{digits}",
                digits = MAX_WHOLE_DIGITS
            ));
        }
        if fraction.is_some_and(|f| f.len() > MAX_FRACTION_DIGITS) {
            return Err(t!(
                "has more than {places} decimal places",
                places = MAX_FRACTION_DIGITS
            ));
        }
        let whole = if whole.is_empty() { "0" } else { whole };
        Ok(Amount(match fraction {
            Some(fraction) => format!("{whole}.{fraction}"),
            None => whole.to_string(),
        }))
    }

    /// Reads a JSON string, or a JSON number as written in the request: serde_json keeps
    /// the shortest text that reads back as the same float, so `10.5` stays "10.5".
    pub fn from_json(value: &Value) -> Result<Amount, String> {
        match value {
            Value::String(text) => Amount::parse(text),
            Value::Number(number) if number.is_f64() || number.is_u64() => {
                Amount::parse(&number.to_string())
            }
            _ => Err(t!("must be a decimal number such as \"9.99\"")),
        }
    }

    /// The amount in units of 10^-8, exactly.
    fn scaled(&self) -> u128 {
        let (whole, fraction) = self.0.split_once('.').unwrap_or((&self.0, ""));
        let whole: u128 = whole.parse().unwrap_or_default();
        let padded = format!("{fraction:0<width$}", width = MAX_FRACTION_DIGITS);
        whole * 10u128.pow(MAX_FRACTION_DIGITS as u32) + padded.parse::<u128>().unwrap_or_default()
    }

    /// `self × quantity`, exactly, with as many decimal places as `self` has.
    pub fn times(&self, quantity: u32) -> Amount {
        let places = self.0.split_once('.').map_or(0, |(_, f)| f.len());
        let total = self.scaled() * u128::from(quantity);
        let unit = 10u128.pow(MAX_FRACTION_DIGITS as u32);
        let (whole, fraction) = (total / unit, total % unit);
        if places == 0 {
            return Amount(whole.to_string());
        }
        let fraction = format!("{fraction:0width$}", width = MAX_FRACTION_DIGITS);
        Amount(format!("{whole}.{}", &fraction[..places]))
    }

    pub fn is_zero(&self) -> bool {
        self.scaled() == 0
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For rule evaluation only, where `order.value > 100` compares numbers.
    pub fn approximate(&self) -> f64 {
        self.0.parse().unwrap_or_default()
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Active ISO 4217 codes (2024), plus the precious-metal and testing codes left out.
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
    "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE",
    "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL",
    "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR",
    "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD",
    "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK",
    "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO",
    "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON",
    "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD",
    "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD",
    "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV",
    "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

/// An ISO 4217 currency code, upper case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Currency(String);

impl Currency {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Currency {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let code = text.trim().to_ascii_uppercase();
        if ISO_4217.binary_search(&code.as_str()).is_ok() {
            Ok(Currency(code))
        } else {
            Err(t!("Currency {text:?} is not an ISO 4217 code", text))
        }
    }
}

/// How a customer pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Gateway {
    Paypal,
    Stripe,
    Bitcoin,
    Ethereum,
    Litecoin,
}

impl Gateway {
    pub const ALL: [Gateway; 5] = [
        Gateway::Paypal,
        Gateway::Stripe,
        Gateway::Bitcoin,
        Gateway::Ethereum,
        Gateway::Litecoin,
    ];

    /// The name products list it by (`"paypal"`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Gateway::Paypal => "paypal",
            Gateway::Stripe => "stripe",
            Gateway::Bitcoin => "bitcoin",
            Gateway::Ethereum => "ethereum",
            Gateway::Litecoin => "litecoin",
        }
    }

    /// The name orders show (`"PayPal"`), as the seed's order objects do.
    pub fn display_name(&self) -> &'static str {
        match self {
            Gateway::Paypal => "PayPal",
            Gateway::Stripe => "Stripe",
            Gateway::Bitcoin => "Bitcoin",
            Gateway::Ethereum => "Ethereum",
            Gateway::Litecoin => "Litecoin",
        }
    }
}

impl FromStr for Gateway {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Gateway::ALL
            .into_iter()
            .find(|g| g.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| {
                t!(
                    "Gateway {text:?} is not supported (one of {all})",
                    text,
                    all = Gateway::ALL.map(|g| g.as_str()).join(", ")
                )
            })
    }
}

impl Serialize for Gateway {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A gateway as orders show it, by its [`Gateway::display_name`] (`#[serde(with)]`);
/// read back from either name.
pub mod gateway_name {
    use super::Gateway;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(gateway: &Gateway, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(gateway.display_name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Gateway, D::Error> {
        Gateway::deserialize(deserializer)
    }
}

impl<'de> Deserialize<'de> for Gateway {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn orders_name_a_gateway_as_the_seed_does_and_read_either_name() {
        #[derive(Serialize, Deserialize)]
        struct Paid {
            #[serde(with = "gateway_name")]
            gateway: Gateway,
        }
        let paid = Paid {
            gateway: Gateway::Paypal,
        };
        assert_eq!(
            serde_json::to_value(&paid).unwrap(),
            json!({ "gateway": "PayPal" })
        );
        for name in ["PayPal", "paypal"] {
            let read: Paid = serde_json::from_value(json!({ "gateway": name })).unwrap();
            assert_eq!(read.gateway, Gateway::Paypal);
        }
        assert!(serde_json::from_value::<Paid>(json!({ "gateway": "cash" })).is_err());
    }

    #[test]
    fn amounts_keep_their_exact_digits() {
        assert_eq!(Amount::parse("12.99").unwrap().as_str(), "12.99");
        assert_eq!(Amount::parse("007.50").unwrap().as_str(), "7.50");
        assert_eq!(Amount::parse("0.1").unwrap().as_str(), "0.1");
        assert_eq!(Amount::from_json(&json!(10.5)).unwrap().as_str(), "10.5");
        assert_eq!(Amount::from_json(&json!(0.1)).unwrap().as_str(), "0.1");
        assert_eq!(
            Amount::from_json(&json!("19.49")).unwrap().as_str(),
            "19.49"
        );
        assert!(Amount::parse("0.000000001").is_err());
    }

    #[test]
    fn malformed_and_negative_amounts_are_refused() {
        for bad in ["", "-1", "1e3", "1.", ".5", "1,50", "NaN", "١٢"] {
            assert!(Amount::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Amount::from_json(&json!(-3)).is_err());
        assert!(Amount::from_json(&json!(true)).is_err());
        assert!(Amount::parse("1000000000000").is_err());
    }

    #[test]
    fn multiplying_is_exact_where_floats_are_not() {
        // 0.1 * 3 is 0.30000000000000004 in f64.
        assert_eq!(Amount::parse("0.1").unwrap().times(3).as_str(), "0.3");
        assert_eq!(Amount::parse("12.99").unwrap().times(3).as_str(), "38.97");
        assert_eq!(Amount::parse("5").unwrap().times(4).as_str(), "20");
        assert!(Amount::parse("0.00").unwrap().is_zero());
    }

    #[test]
    fn currencies_are_iso_4217_codes() {
        assert!(
            ISO_4217.windows(2).all(|w| w[0] < w[1]),
            "sorted for binary search"
        );
        assert_eq!("usd".parse::<Currency>().unwrap().as_str(), "USD");
        assert!("EURO".parse::<Currency>().is_err());
        assert!("XYZ".parse::<Currency>().is_err());
    }

    #[test]
    fn gateways_read_any_case_and_show_their_brand() {
        assert_eq!("PayPal".parse::<Gateway>().unwrap(), Gateway::Paypal);
        assert_eq!(Gateway::Paypal.display_name(), "PayPal");
        assert!(
            "venmo"
                .parse::<Gateway>()
                .unwrap_err()
                .contains("paypal, stripe")
        );
    }
}
