use crate::t;
use axum::http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const MAX_HEADERS: usize = 20;
const MAX_NAME_LENGTH: usize = 128;
const MAX_VALUE_LENGTH: usize = 1024;
/// Headers PushGuard sets itself, and hop-by-hop and framing headers that would change
/// how the request travels: an endpoint may not set them.
const RESERVED: [&str; 12] = [
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "content-encoding",
];
const RESERVED_PREFIXES: [&str; 3] = ["webhook-", "x-pushguard-", "proxy-"];

/// Extra headers sent with every delivery to an endpoint, validated.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomHeaders(BTreeMap<String, String>);

impl CustomHeaders {
    /// Validates every header, reporting each problem; names are lower-cased.
    pub fn parse(raw: BTreeMap<String, String>) -> Result<Self, Vec<String>> {
        let mut errors = Vec::new();
        if raw.len() > MAX_HEADERS {
            errors.push(t!(
                "Headers are too many (maximum is {max})",
                max = MAX_HEADERS
            ));
        }
        let mut headers = BTreeMap::new();
        for (name, value) in raw {
            let lower = name.to_ascii_lowercase();
            if lower.len() > MAX_NAME_LENGTH || HeaderName::from_bytes(lower.as_bytes()).is_err() {
                errors.push(t!(
                    "Header name {name:?} is not a valid HTTP header name (up to {max} characters)",
                    name = name.chars().take(MAX_NAME_LENGTH).collect::<String>(),
                    max = MAX_NAME_LENGTH
                ));
                continue;
            }
            if RESERVED.contains(&lower.as_str())
                || RESERVED_PREFIXES.iter().any(|p| lower.starts_with(p))
            {
                errors.push(t!(
                    "Header {name:?} is set by PushGuard and cannot be overridden",
                    name
                ));
                continue;
            }
            if value.len() > MAX_VALUE_LENGTH || HeaderValue::from_str(&value).is_err() {
                errors.push(t!(
                    "Header {name:?} has an invalid value (printable text up to {max} characters)",
                    name,
                    max = MAX_VALUE_LENGTH
                ));
                continue;
            }
            headers.insert(lower, value);
        }
        if errors.is_empty() {
            Ok(CustomHeaders(headers))
        } else {
            Err(errors)
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// As the API and the portal show them: names, and every value as `****` (they
    /// often carry the receiver's credentials).
    pub fn masked(&self) -> BTreeMap<&str, &'static str> {
        self.0.keys().map(|name| (name.as_str(), MASKED)).collect()
    }

    /// The value of header `name` (any case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

/// How a header's value is shown; sent back as it is, it keeps the value it stands for.
pub const MASKED: &str = "****";

/// `raw` headers sent to replace `current`, each `****` value (as shown) standing for
/// the current value of its header; a `****` for a header that has none is reported.
pub fn unmask(
    raw: BTreeMap<String, String>,
    current: Option<&CustomHeaders>,
    errors: &mut Vec<String>,
) -> BTreeMap<String, String> {
    raw.into_iter()
        .filter_map(|(name, value)| {
            if value != MASKED {
                return Some((name, value));
            }
            match current.and_then(|c| c.get(&name)) {
                Some(kept) => Some((name, kept.to_string())),
                None => {
                    errors.push(t!(
                        "Header {name:?} is masked ({masked}); send its value",
                        name,
                        masked = MASKED
                    ));
                    None
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn valid_headers_are_kept_lower_cased() {
        let headers = CustomHeaders::parse(map(&[("X-Team", "payments")])).unwrap();
        assert_eq!(
            headers.iter().collect::<Vec<_>>(),
            vec![("x-team", "payments")]
        );
    }

    #[test]
    fn reserved_and_malformed_headers_are_each_reported() {
        let errors = CustomHeaders::parse(map(&[
            ("Content-Type", "text/plain"),
            ("webhook-id", "x"),
            ("X-PushGuard-Signature", "x"),
            ("bad name", "x"),
            ("x-ok", "line\nbreak"),
        ]))
        .unwrap_err();
        assert_eq!(errors.len(), 5, "{errors:?}");
    }

    #[test]
    fn hop_by_hop_and_framing_headers_and_overlong_names_are_refused() {
        for name in [
            "Connection",
            "Keep-Alive",
            "Transfer-Encoding",
            "Trailer",
            "Expect",
            "Proxy-Authorization",
            "proxy-connection",
            "Host",
            "Content-Length",
            "TE",
            "Upgrade",
        ] {
            assert!(
                CustomHeaders::parse(map(&[(name, "x")])).is_err(),
                "{name} must be refused"
            );
        }
        let long = "x".repeat(MAX_NAME_LENGTH + 1);
        assert!(CustomHeaders::parse(map(&[(&long, "x")])).is_err());
        let value = "v".repeat(MAX_VALUE_LENGTH + 1);
        assert!(CustomHeaders::parse(map(&[("x-big", &value)])).is_err());
        assert!(CustomHeaders::parse(map(&[("x-fine", &"v".repeat(MAX_VALUE_LENGTH))])).is_ok());
    }
}
