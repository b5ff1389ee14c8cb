//! Delivery bodies, written so that both signature checks accept them.
//!
//! Standard Webhooks receivers check the raw body. The PushGuard seed tells receivers to
//! check `X-PushGuard-Signature` against `payload.to_json` in Ruby with ActiveSupport,
//! i.e. against the parsed body written again. So the body is written exactly as that
//! writes it: compact, keys in the order sent, `<`, `>`, `&`, U+2028 and U+2029 escaped
//! as `\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`, control characters as Ruby's JSON
//! escapes them, and floats as Ruby prints them (`1.0e+20`, `1.0e-05`, `100.0`). Parsed,
//! it is the same JSON value.

use serde_json::Value;
use std::fmt::Write;

/// What a `thin` endpoint receives instead of the object: the event's id, type and time,
/// and which resource it is about (`null` when its payload names none), so the
/// receiver fetches the object as it is now.
pub fn thin(id: &str, event_type: &str, created_at: crate::Timestamp, payload: &Value) -> Value {
    let kind = event_type.split_once(':').map(|(kind, _)| kind);
    let resource = match (kind, payload.get("id")) {
        (Some(kind), Some(id)) if kind != "webhook" && !id.is_null() => {
            serde_json::json!({ "type": kind, "id": id })
        }
        _ => Value::Null,
    };
    serde_json::json!({
        "id": id,
        "type": event_type,
        "created_at": created_at,
        "resource": resource,
    })
}

/// The bytes of a delivery of `payload`.
pub fn delivery_body(payload: &Value) -> Vec<u8> {
    let mut out = String::new();
    write_value(&mut out, payload);
    out.into_bytes()
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(number) => match (number.as_u64(), number.as_i64(), number.as_f64()) {
            (Some(n), _, _) => write!(out, "{n}").expect("writing to a String"),
            (None, Some(n), _) => write!(out, "{n}").expect("writing to a String"),
            (None, None, Some(f)) => out.push_str(&ruby_float(f)),
            _ => out.push_str("null"),
        },
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\u{0}'..='\u{1f}' => {
                write!(out, "\\u{:04x}", c as u32).expect("writing to a String")
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A float as Ruby's `Float#to_s` writes it: the shortest digits that read back the
/// same, fixed notation from 1e-4 up to 1e16 (scientific beyond, with a signed exponent
/// of at least two digits), and always a decimal point.
pub fn ruby_float(value: f64) -> String {
    if !value.is_finite() {
        return "null".into(); // what ActiveSupport writes; JSON has no such number
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .into();
    }
    // Rust's `{:e}` is the shortest round-trip form: "-1.2345e-7", "1e20".
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').expect("{:e} has an exponent");
    let exponent: i32 = exponent.parse().expect("{:e} has a numeric exponent");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digit_count = digits.len() as i32;
    let point = exponent + 1; // digits before the decimal point
    let sign = if value < 0.0 { "-" } else { "" };
    if 0 < point && point < 16 && point >= digit_count {
        format!(
            "{sign}{digits}{}.0",
            "0".repeat((point - digit_count) as usize)
        )
    } else if 0 < point && point <= 16 && point < digit_count {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{sign}{whole}.{fraction}")
    } else if -4 < point && point <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{first}.{rest}e{exponent_sign}{:02}", exponent.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thin_payload_names_the_resource_and_nothing_of_it() {
        let at = crate::Timestamp::parse("2026-12-02T08:00:00Z").unwrap();
        let order = serde_json::json!({ "id": "ord_1", "value": "10.0", "email": "a@b.c" });
        let thin_order = thin("evt_1", "order:paid", at, &order);
        assert_eq!(
            thin_order,
            serde_json::json!({
                "id": "evt_1", "type": "order:paid", "created_at": "2026-12-02T08:00:00.000+00:00",
                "resource": { "type": "order", "id": "ord_1" }
            })
        );
        let ping = thin(
            "log_1",
            "webhook:ping",
            at,
            &serde_json::json!({ "message": "hi" }),
        );
        assert_eq!(ping["resource"], Value::Null);
        let custom = thin("evt_2", "invoice:sent", at, &serde_json::json!({ "id": 7 }));
        assert_eq!(
            custom["resource"],
            serde_json::json!({ "type": "invoice", "id": 7 })
        );
    }
    use serde_json::json;

    #[test]
    fn floats_are_written_as_ruby_writes_them() {
        // Each pair was printed by Ruby 3.1's Float#to_s.
        for (value, ruby) in [
            (1e14, "100000000000000.0"),
            (1e15, "1.0e+15"),
            (9.99e15, "9.99e+15"),
            (1e16, "1.0e+16"),
            (123456789012345.6, "123456789012345.6"),
            (1234567890123456.8, "1234567890123456.8"),
            (1234567890123456.0, "1.234567890123456e+15"),
            (0.001, "0.001"),
            (0.0001, "0.0001"),
            (0.00001, "1.0e-05"),
            (0.00015, "0.00015"),
            (100.0, "100.0"),
            (1.5, "1.5"),
            (-2.5, "-2.5"),
            (1e100, "1.0e+100"),
            (2.5e-300, "2.5e-300"),
            (5e-324, "5.0e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.1 + 0.2, "0.30000000000000004"),
            (12345678.9, "12345678.9"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
        ] {
            assert_eq!(ruby_float(value), ruby, "{value:e}");
        }
    }

    #[test]
    fn strings_are_escaped_as_active_support_escapes_them() {
        let body = delivery_body(&json!({
            "a": "Tom & Jerry <b>\u{1f}\u{8}\u{c}\n\r\t\u{7f}\"\\/\u{2029}\u{1F600}>",
            "b": [true, false, null, {}],
            "c": {}
        }));
        // What Ruby printed for the same value (checked with ruby and ActiveSupport 6.1).
        let ruby = "{\"a\":\"Tom \\u0026 Jerry \\u003cb\\u003e\\u001f\\b\\f\\n\\r\\t\u{7f}\\\"\\\\/\\u2029\u{1F600}\\u003e\",\"b\":[true,false,null,{}],\"c\":{}}";
        assert_eq!(String::from_utf8(body.clone()).unwrap(), ruby);
        let parsed: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            parsed["a"],
            "Tom & Jerry <b>\u{1f}\u{8}\u{c}\n\r\t\u{7f}\"\\/\u{2029}\u{1F600}>"
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(|n| json!(n)),
                any::<u64>().prop_map(|n| json!(n)),
                // Short binary fractions: serde_json's default reader is exact only for
                // mantissas up to 2^53; the writer is checked on every float below.
                (-1_000_000i32..1_000_000).prop_map(|n| json!(f64::from(n) / 1024.0)),
                "\\PC{0,12}".prop_map(Value::String),
                "[<>&\u{2028}\u{2029}\u{0}-\u{1f}\\\"a-z]{0,8}".prop_map(Value::String),
            ];
            leaf.prop_recursive(4, 48, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    prop::collection::btree_map("\\PC{0,6}", inner, 0..6)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1_000))]

            #[test]
            fn any_payload_parses_back_to_itself(value in json_value()) {
                let body = delivery_body(&value);
                let parsed: Value = serde_json::from_slice(&body).expect("valid JSON");
                prop_assert_eq!(parsed, value);
            }

            #[test]
            fn any_float_is_written_so_that_it_reads_back_the_same(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
                let text = ruby_float(f);
                prop_assert!(text.contains('.'), "{}", text);
                prop_assert_eq!(text.parse::<f64>().unwrap().to_bits(), f.to_bits());
            }
        }
    }

    #[test]
    fn the_body_is_the_same_json_value() {
        let payload = json!({ "id": "ord_1", "n": 18446744073709551615u64, "m": -9223372036854775808i64, "f": 1e20, "x": [1.5, { "é": "ü" }] });
        let body = delivery_body(&payload);
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), payload);
    }
}
