//! What DynamoDB charges for a call, from its documented sizing rules ("DynamoDB item
//! sizes and formats", "Capacity management for transactions", "Provisioned throughput
//! considerations for global secondary indexes"):
//!
//! - an item's size is the sum of its attribute names and values: strings and binaries
//!   by their (raw) bytes, numbers by one byte per two significant digits plus one,
//!   booleans and nulls one byte, lists and maps 3 bytes plus one per element;
//! - a write costs one request unit per KB (rounded up) of the larger of the item before
//!   and after; a read one unit per 4 KB, half of it when eventually consistent; a query
//!   by the total size it reads;
//! - inside a transaction every item costs twice (prepared, then committed), a condition
//!   check as a read;
//! - each global secondary index a write touches costs a write of what it projects: a put
//!   into it, a delete from it, both when its key changes, nothing when none of its
//!   projected attributes changes.
//!
//! Pure arithmetic on DynamoDB's JSON wire format, checked against those rules' own
//! examples; the strict layer is where calls are counted.

use serde_json::{Map, Value};

/// An item as DynamoDB's JSON carries it: attribute name to typed value (`{"S": ".."}`).
pub type Item = Map<String, Value>;

/// The item's size in bytes, as DynamoDB counts it.
pub fn item_size(item: &Item) -> u64 {
    item.iter()
        .map(|(name, value)| name.len() as u64 + value_size(value))
        .sum()
}

fn value_size(value: &Value) -> u64 {
    let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    match (kind.as_str(), inner) {
        ("S", Value::String(text)) => text.len() as u64,
        ("N", Value::String(number)) => number_size(number),
        ("B", Value::String(base64)) => raw_length(base64),
        ("BOOL" | "NULL", _) => 1,
        ("SS", Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|s| s.len() as u64)
            .sum(),
        ("NS", Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(number_size)
            .sum(),
        ("BS", Value::Array(items)) => items.iter().filter_map(Value::as_str).map(raw_length).sum(),
        ("L", Value::Array(items)) => 3 + items.iter().map(|i| 1 + value_size(i)).sum::<u64>(),
        ("M", Value::Object(map)) => {
            3 + map
                .iter()
                .map(|(name, v)| 1 + name.len() as u64 + value_size(v))
                .sum::<u64>()
        }
        _ => 0,
    }
}

/// A number's size: one byte per two significant digits (leading and trailing zeros
/// trimmed), plus one.
fn number_size(text: &str) -> u64 {
    let mantissa = text
        .trim_start_matches(['-', '+'])
        .split(['e', 'E'])
        .next()
        .unwrap_or_default();
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len() as u64;
    significant.div_ceil(2) + 1
}

/// The bytes a base64 text stands for.
fn raw_length(base64: &str) -> u64 {
    let padding = base64.bytes().rev().take_while(|b| *b == b'=').count() as u64;
    (base64.len() as u64 / 4 * 3).saturating_sub(padding)
}

/// Write request units for a write of `bytes` (the larger of before and after).
pub fn write_units(bytes: u64) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

/// Read request units for reading `bytes`, strongly or eventually consistent.
pub fn read_units(bytes: u64, consistent: bool) -> f64 {
    let units = bytes.div_ceil(4096).max(1) as f64;
    if consistent { units } else { units / 2.0 }
}

/// What a transaction costs more: every item is prepared, then committed.
pub const TRANSACTION_FACTOR: f64 = 2.0;

/// What a global secondary index holds of an item.
#[derive(Clone, Debug, PartialEq)]
pub enum Projection {
    All,
    KeysOnly,
    Include(Vec<String>),
}

/// A global secondary index: its key attributes and what it projects.
#[derive(Clone, Debug, PartialEq)]
pub struct Index {
    pub name: String,
    pub keys: Vec<String>,
    pub projection: Projection,
}

impl Index {
    /// What the index holds of `item` (with the table's `table_keys`), if the item is
    /// in it: only items that have every key attribute of the index are.
    pub fn projected(&self, item: &Item, table_keys: &[String]) -> Option<Item> {
        if !self.keys.iter().all(|key| item.contains_key(key)) {
            return None;
        }
        let kept = |name: &String| match &self.projection {
            Projection::All => true,
            Projection::KeysOnly => self.keys.contains(name) || table_keys.contains(name),
            Projection::Include(names) => {
                self.keys.contains(name) || table_keys.contains(name) || names.contains(name)
            }
        };
        Some(
            item.iter()
                .filter(|(name, _)| kept(name))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        )
    }

    /// Write request units a write from `before` to `after` (absent: no item) costs in
    /// this index.
    pub fn write_units(
        &self,
        table_keys: &[String],
        before: Option<&Item>,
        after: Option<&Item>,
    ) -> f64 {
        let before = before.and_then(|item| self.projected(item, table_keys));
        let after = after.and_then(|item| self.projected(item, table_keys));
        match (before, after) {
            (None, None) => 0.0,
            (Some(gone), None) => write_units(item_size(&gone)),
            (None, Some(new)) => write_units(item_size(&new)),
            (Some(old), Some(new)) => {
                let moved = self.keys.iter().any(|key| old.get(key) != new.get(key));
                if moved {
                    write_units(item_size(&old)) + write_units(item_size(&new))
                } else if old == new {
                    0.0
                } else {
                    write_units(item_size(&old).max(item_size(&new)))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(value: Value) -> Item {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn sizes_follow_the_documented_rules() {
        // Strings and names by their UTF-8 bytes; "é" is two.
        assert_eq!(item_size(&item(json!({ "name": { "S": "José" } }))), 4 + 5);
        // Numbers: one byte per two significant digits, plus one; zeros at either end trimmed.
        assert_eq!(number_size("12345"), 3 + 1);
        assert_eq!(number_size("1200"), 1 + 1);
        assert_eq!(number_size("0.0012"), 1 + 1);
        assert_eq!(number_size("-3.14159"), 3 + 1);
        assert_eq!(number_size("1.5E+20"), 1 + 1);
        // Binary by its raw bytes, not its base64.
        assert_eq!(item_size(&item(json!({ "b": { "B": "aGVsbG8=" } }))), 1 + 5);
        // Booleans and nulls: one byte.
        assert_eq!(
            item_size(&item(
                json!({ "ok": { "BOOL": true }, "no": { "NULL": true } })
            )),
            2 + 1 + 2 + 1
        );
        // Lists and maps: 3 bytes, plus one per element; empty ones 3.
        assert_eq!(item_size(&item(json!({ "l": { "L": [] } }))), 1 + 3);
        assert_eq!(
            item_size(&item(
                json!({ "l": { "L": [{ "S": "ab" }, { "N": "7" }] } })
            )),
            1 + 3 + (1 + 2) + (1 + 2)
        );
        assert_eq!(
            item_size(&item(json!({ "m": { "M": { "k": { "S": "v" } } } }))),
            1 + 3 + (1 + 1 + 1)
        );
        // Sets: the sum of their members.
        assert_eq!(
            item_size(&item(json!({ "s": { "SS": ["a", "bc"] } }))),
            1 + 3
        );
    }

    #[test]
    fn capacity_is_counted_by_kilobyte_and_by_four() {
        // A 1.5 KB item costs two write units; 500 bytes one; transactions double.
        assert_eq!(write_units(1536), 2.0);
        assert_eq!(write_units(500), 1.0);
        assert_eq!(write_units(500) * TRANSACTION_FACTOR, 2.0);
        // Reading 6 KB: two units strongly consistent, one eventually; 1 byte is a unit.
        assert_eq!(read_units(6 * 1024, true), 2.0);
        assert_eq!(read_units(6 * 1024, false), 1.0);
        assert_eq!(read_units(1, true), 1.0);
        assert_eq!(read_units(1, false), 0.5);
        // A query is charged on the total it reads: ten 1 KB items, 3 units.
        assert_eq!(read_units(10 * 1024, true), 3.0);
    }

    #[test]
    fn an_index_costs_a_write_when_it_gains_loses_or_changes_what_it_projects() {
        let table_keys = vec!["pk".to_string()];
        let due = Index {
            name: "due".into(),
            keys: vec!["due_shard".into(), "due_at".into()],
            projection: Projection::KeysOnly,
        };
        let waiting = item(
            json!({ "pk": { "S": "log_1" }, "due_shard": { "S": "3" }, "due_at": { "N": "5" }, "body": { "S": "x" } }),
        );
        let done = item(json!({ "pk": { "S": "log_1" }, "body": { "S": "y" } }));
        let later = item(
            json!({ "pk": { "S": "log_1" }, "due_shard": { "S": "3" }, "due_at": { "N": "9" }, "body": { "S": "x" } }),
        );
        let reworded = item(
            json!({ "pk": { "S": "log_1" }, "due_shard": { "S": "3" }, "due_at": { "N": "5" }, "body": { "S": "z" } }),
        );
        assert_eq!(
            due.write_units(&table_keys, None, Some(&waiting)),
            1.0,
            "put into it"
        );
        assert_eq!(
            due.write_units(&table_keys, Some(&waiting), Some(&done)),
            1.0,
            "deleted from it"
        );
        assert_eq!(
            due.write_units(&table_keys, Some(&waiting), Some(&later)),
            2.0,
            "its key moved: delete and put"
        );
        assert_eq!(
            due.write_units(&table_keys, Some(&waiting), Some(&reworded)),
            0.0,
            "nothing it projects changed"
        );
        assert_eq!(
            due.write_units(&table_keys, None, Some(&done)),
            0.0,
            "never in it"
        );
        let all = Index {
            projection: Projection::All,
            ..due
        };
        assert_eq!(
            all.write_units(&table_keys, Some(&waiting), Some(&reworded)),
            1.0,
            "a projected attribute changed"
        );
    }
}
