//! Validators of plain values, at the bottom of the crate: accounts, blacklists, the
//! rule language and the handlers all use them.

use crate::t;
use ipnet::IpNet;
use std::net::IpAddr;

/// Whether `email` is plausibly an address: one `@`, a dotted domain, no spaces.
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && email.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// An address (as a one-address network) or a CIDR range, canonical (see [`canonical_network`]).
pub fn parse_network(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
        .map(canonical_network)
}

/// An address as it is compared: IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is the IPv4 address
/// it maps, so one host written two ways is one host.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// A range as it is compared: a range inside `::ffff:0:0/96` is the IPv4 range it maps.
pub fn canonical_network(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map(IpNet::V4)
                .unwrap_or(net),
            None => net,
        },
        other => other,
    }
}

/// Two ASCII letters (ISO 3166-1 alpha-2 shape).
pub fn is_country_code(text: &str) -> bool {
    text.len() == 2 && text.bytes().all(|b| b.is_ascii_alphabetic())
}

/// How deep a client's JSON (a payload, a `custom` object) may nest. DynamoDB stores 32
/// levels; an event's payload sits inside the event and an order's `custom` inside the
/// order inside an event, so clients get fewer.
pub const MAX_JSON_DEPTH: usize = 20;
/// The longest key of a client's JSON object.
pub const MAX_JSON_KEY: usize = 255;

/// Checks that a client's JSON can be stored as it is: not nested deeper than
/// [`MAX_JSON_DEPTH`], object keys of 1 to [`MAX_JSON_KEY`] characters, numbers within
/// DynamoDB's range (magnitude from 1e-130 to below 1e126). `field` names it in the message.
pub fn storable_json(field: &str, value: &serde_json::Value) -> Result<(), String> {
    use serde_json::Value;
    let mut stack = vec![(value, 1usize)];
    while let Some((value, depth)) = stack.pop() {
        if depth > MAX_JSON_DEPTH {
            return Err(t!(
                "{field} is nested deeper than {max} levels",
                field,
                max = MAX_JSON_DEPTH
            ));
        }
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    let length = key.chars().count();
                    if length == 0 || length > MAX_JSON_KEY {
                        return Err(t!(
                            "{field} has a key of {length} characters (keys have 1 to {max})",
                            field,
                            length,
                            max = MAX_JSON_KEY
                        ));
                    }
                    stack.push((inner, depth + 1));
                }
            }
            Value::Array(items) => stack.extend(items.iter().map(|inner| (inner, depth + 1))),
            Value::Number(number) => {
                let magnitude = number.as_f64().map(f64::abs).unwrap_or(0.0);
                if number.is_f64() && magnitude != 0.0 && !(1e-130..1e126).contains(&magnitude) {
                    return Err(t!(
                        "{field} holds the number {number}, outside the range that can be stored (1e-130 to 1e126)",
                        field,
                        number
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A resource's `custom` field as given: an object the store can hold; absent or null
/// is the empty object.
pub fn custom(value: Option<serde_json::Value>) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    match value {
        None | Some(Value::Null) => Ok(Value::Object(Default::default())),
        Some(value @ Value::Object(_)) => storable_json("Custom", &value).map(|()| value),
        Some(_) => Err(t!("Custom must be an object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_json_that_dynamodb_cannot_store_is_refused_with_a_reason() {
        use serde_json::json;
        let mut deep = json!(1);
        for _ in 0..MAX_JSON_DEPTH {
            deep = json!([deep]);
        }
        assert!(
            storable_json("Payload", &deep)
                .unwrap_err()
                .contains("nested deeper")
        );
        let mut fits = json!(1);
        for _ in 0..MAX_JSON_DEPTH - 1 {
            fits = json!({ "k": fits });
        }
        assert_eq!(storable_json("Payload", &fits), Ok(()));
        for bad in [
            json!({ "n": 1e200 }),
            json!([1e-200]),
            json!({ "": 1 }),
            json!({ "k".repeat(256): 1 }),
        ] {
            assert!(storable_json("Custom", &bad).is_err(), "{bad}");
        }
        for fine in [
            json!({ "n": 1.5, "i": u64::MAX, "z": 0.0, "neg": -2.5e100 }),
            json!("text"),
            json!(null),
        ] {
            assert_eq!(storable_json("Custom", &fine), Ok(()), "{fine}");
        }
    }

    #[test]
    fn custom_is_a_storable_object_and_null_empties_it() {
        use serde_json::json;
        assert_eq!(custom(None), Ok(json!({})));
        assert_eq!(custom(Some(json!(null))), Ok(json!({})));
        assert_eq!(custom(Some(json!({ "a": 1 }))), Ok(json!({ "a": 1 })));
        assert_eq!(
            custom(Some(json!([1]))),
            Err("Custom must be an object".into())
        );
        assert!(
            custom(Some(json!({ "": 1 })))
                .unwrap_err()
                .starts_with("Custom has a key")
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_is_the_ipv4_it_maps() {
        let ip = |t: &str| canonical_ip(t.parse().unwrap());
        assert_eq!(ip("::ffff:1.2.3.4"), ip("1.2.3.4"));
        let net = parse_network("::ffff:10.0.0.0/104").unwrap();
        assert_eq!(net, parse_network("10.0.0.0/8").unwrap());
        assert!(net.contains(&ip("::ffff:10.1.2.3")));
        assert!(
            parse_network("1.2.3.4")
                .unwrap()
                .contains(&ip("::ffff:1.2.3.4"))
        );
        assert_eq!(
            parse_network("2001:db8::/32").unwrap().to_string(),
            "2001:db8::/32"
        );
    }

    #[test]
    fn email_validation() {
        for ok in ["demo@pushguard.local", "a.b+c@example.co.uk"] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@",
            "@b.com",
            "a@b",
            "a b@c.com",
            "a@b@c.com",
            "a@.com",
            "a@com.",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }
}
