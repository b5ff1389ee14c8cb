//! What an AWS call asks for, read from its JSON request: the IAM actions it needs on
//! which resources (a transaction's items each by their own action, a query on an index
//! by the index's ARN), and the items it writes (for the conflict model).

use super::iam::{kms_arn, queue_arn, table_arn};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// DynamoDB's limits that the emulator does not enforce on its own.
pub const MAX_TRANSACTION_ITEMS: usize = 100;
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// DynamoDB's limit on the items of one transaction together.
pub const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    DynamoDb,
    Sqs,
    Kms,
}

impl Service {
    /// The service of an `X-Amz-Target` prefix.
    pub fn of_target(prefix: &str) -> Option<Self> {
        match prefix {
            "DynamoDB_20120810" => Some(Service::DynamoDb),
            "AmazonSQS" => Some(Service::Sqs),
            "TrentService" => Some(Service::Kms),
            _ => None,
        }
    }
}

/// One item of one table, as DynamoDB locks it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ItemKey(String);

/// The items a call writes.
#[derive(Debug, PartialEq, Eq)]
pub enum Writes {
    None,
    Single(ItemKey),
    Transaction(Vec<ItemKey>),
}

/// A call as the strict layer judges it.
#[derive(Debug)]
pub struct Call {
    pub service: Service,
    pub operation: String,
    /// `(action, resource)` pairs IAM must all allow.
    pub needs: Vec<(String, String)>,
    /// For each need, the partition key values it touches (`dynamodb:LeadingKeys`);
    /// empty where a call names none (a query, another service).
    pub leading: Vec<Vec<String>>,
    pub writes: Writes,
}

/// A request DynamoDB itself would refuse (`ValidationException`).
#[derive(Debug, PartialEq, Eq)]
pub struct Invalid(pub String);

/// Key attribute names by physical table name.
pub type KeySchemas = HashMap<String, Vec<String>>;

impl Call {
    pub fn read(
        service: Service,
        operation: &str,
        body: &Value,
        keys: &KeySchemas,
    ) -> Result<Self, Invalid> {
        let mut call = Call {
            service,
            operation: operation.to_string(),
            needs: Vec::new(),
            leading: Vec::new(),
            writes: Writes::None,
        };
        match service {
            Service::DynamoDb => call.read_dynamodb(body, keys)?,
            Service::Sqs => {
                // A batch is authorised as its single-message action.
                let action = operation.strip_suffix("Batch").unwrap_or(operation);
                let queue = text(body, "QueueUrl")
                    .map(|url| url.rsplit('/').next().unwrap_or_default().to_string())
                    .or_else(|| text(body, "QueueName").map(str::to_string));
                let resource = queue.map_or_else(|| "*".to_string(), |name| queue_arn(&name));
                call.need(format!("sqs:{action}"), resource, Vec::new());
            }
            Service::Kms => {
                // Decrypt names no key: the ciphertext does, as it does in AWS.
                let key = text(body, "KeyId")
                    .map(str::to_string)
                    .or_else(|| text(body, "CiphertextBlob").and_then(key_of_ciphertext));
                let resource = key.map_or_else(|| "*".to_string(), |key| kms_arn(&key));
                call.need(format!("kms:{operation}"), resource, Vec::new());
            }
        }
        Ok(call)
    }

    fn read_dynamodb(&mut self, body: &Value, keys: &KeySchemas) -> Result<(), Invalid> {
        let operation = self.operation.clone();
        let table = text(body, "TableName").unwrap_or_default().to_string();
        match operation.as_str() {
            "TransactWriteItems" => {
                let items = body
                    .get("TransactItems")
                    .and_then(Value::as_array)
                    .ok_or_else(|| Invalid("TransactItems is required".into()))?;
                if items.len() > MAX_TRANSACTION_ITEMS {
                    return Err(Invalid(format!(
                        "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: \
                         Member must have length less than or equal to {MAX_TRANSACTION_ITEMS}"
                    )));
                }
                let total: usize = items
                    .iter()
                    .filter_map(|item| item.get("Put")?.get("Item")?.as_object())
                    .map(item_size)
                    .sum();
                if total > MAX_TRANSACTION_BYTES {
                    return Err(Invalid(
                        "Transaction request size exceeds the maximum allowed (4 MB)".into(),
                    ));
                }
                let mut written = Vec::with_capacity(items.len());
                for item in items {
                    let (kind, write) = item
                        .as_object()
                        .and_then(|o| o.iter().next())
                        .ok_or_else(|| Invalid("an empty TransactItem".into()))?;
                    let action = match kind.as_str() {
                        "Put" => "PutItem",
                        "Update" => "UpdateItem",
                        "Delete" => "DeleteItem",
                        "ConditionCheck" => "ConditionCheckItem",
                        other => return Err(Invalid(format!("unknown TransactItem {other}"))),
                    };
                    let table = text(write, "TableName").unwrap_or_default();
                    let leading = partition_of(table, write, keys).into_iter().collect();
                    self.need(
                        format!("dynamodb:{action}"),
                        table_arn(table, None),
                        leading,
                    );
                    let key = item_key(table, write, keys)?;
                    if written.contains(&key) {
                        return Err(Invalid(
                            "Transaction request cannot include multiple operations on one item"
                                .into(),
                        ));
                    }
                    written.push(key);
                }
                self.writes = Writes::Transaction(written);
            }
            "TransactGetItems" => {
                for item in body
                    .get("TransactItems")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let get = item.get("Get").unwrap_or(&Value::Null);
                    let table = text(get, "TableName").unwrap_or_default();
                    let leading = partition_of(table, get, keys).into_iter().collect();
                    self.need("dynamodb:GetItem".into(), table_arn(table, None), leading);
                }
            }
            "BatchGetItem" | "BatchWriteItem" => {
                for (table, requests) in body
                    .get("RequestItems")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    // Every key the batch names, of gets (`Keys`), puts and deletes.
                    let named: Vec<&Value> = match requests.get("Keys") {
                        Some(Value::Array(keys)) => keys.iter().collect(),
                        _ => requests
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|r| {
                                r.get("PutRequest")
                                    .and_then(|p| p.get("Item"))
                                    .or_else(|| r.get("DeleteRequest").and_then(|d| d.get("Key")))
                            })
                            .collect(),
                    };
                    let leading = named
                        .into_iter()
                        .filter_map(|key| partition_value(table, key, keys))
                        .collect();
                    self.need(
                        format!("dynamodb:{operation}"),
                        table_arn(table, None),
                        leading,
                    );
                }
            }
            "PutItem" | "UpdateItem" | "DeleteItem" => {
                let leading = partition_of(&table, body, keys).into_iter().collect();
                self.need(
                    format!("dynamodb:{operation}"),
                    table_arn(&table, None),
                    leading,
                );
                self.writes = Writes::Single(item_key(&table, body, keys)?);
            }
            "GetItem" => {
                let leading = partition_of(&table, body, keys).into_iter().collect();
                self.need(
                    format!("dynamodb:{operation}"),
                    table_arn(&table, None),
                    leading,
                );
            }
            "Query" | "Scan" => {
                let index = text(body, "IndexName");
                self.need(
                    format!("dynamodb:{operation}"),
                    table_arn(&table, index),
                    Vec::new(),
                );
            }
            _ if !table.is_empty() => {
                self.need(
                    format!("dynamodb:{operation}"),
                    table_arn(&table, None),
                    Vec::new(),
                );
            }
            _ => self.need(format!("dynamodb:{operation}"), "*".into(), Vec::new()),
        }
        Ok(())
    }

    fn need(&mut self, action: String, resource: String, leading: Vec<String>) {
        self.needs.push((action, resource));
        self.leading.push(leading);
    }
}

/// The partition key value a single-item request names (its `Key`, or the `Item` it
/// puts), as text.
fn partition_of(table: &str, request: &Value, keys: &KeySchemas) -> Option<String> {
    let source = request.get("Key").or_else(|| request.get("Item"))?;
    partition_value(table, source, keys)
}

/// The partition key value of `key` (a key or an item) in `table`, as text.
fn partition_value(table: &str, key: &Value, keys: &KeySchemas) -> Option<String> {
    let name = keys.get(table)?.first()?;
    let typed = key.get(name)?.as_object()?;
    let (_, value) = typed.iter().next()?;
    value.as_str().map(str::to_string)
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// The item a write names: its key, or the key attributes of the item it puts (whose
/// size is checked against DynamoDB's limit on the way).
fn item_key(table: &str, write: &Value, keys: &KeySchemas) -> Result<ItemKey, Invalid> {
    let (source, is_put) = match (write.get("Key"), write.get("Item")) {
        (Some(key), _) => (key, false),
        (None, Some(item)) => (item, true),
        (None, None) => return Err(Invalid("a write names no Key or Item".into())),
    };
    let source = source
        .as_object()
        .ok_or_else(|| Invalid("Key and Item must be maps".into()))?;
    if is_put {
        if item_size(source) > MAX_ITEM_BYTES {
            return Err(Invalid(
                "Item size has exceeded the maximum allowed size".into(),
            ));
        }
        storable(source)?;
    }
    let names = keys
        .get(table)
        .ok_or_else(|| Invalid(format!("Requested resource not found: {table}")))?;
    let mut key = table.to_string();
    for name in names {
        let value = source.get(name).ok_or_else(|| {
            Invalid(format!(
                "One of the required keys was not given a value: {name}"
            ))
        })?;
        key.push('\u{0}');
        key.push_str(&value.to_string());
    }
    Ok(ItemKey(key))
}

/// DynamoDB's limits on what an item holds: 32 levels of nesting, numbers of at most 38
/// digits and a magnitude from 1e-130 to below 1e126.
fn storable(item: &Map<String, Value>) -> Result<(), Invalid> {
    let mut stack: Vec<(&Value, usize)> = item.values().map(|v| (v, 1)).collect();
    while let Some((value, depth)) = stack.pop() {
        let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else {
            continue;
        };
        match (kind.as_str(), inner) {
            ("M", Value::Object(map)) => {
                if depth >= 32 {
                    return Err(Invalid(
                        "Nesting Levels have exceeded supported limits".into(),
                    ));
                }
                stack.extend(map.values().map(|v| (v, depth + 1)));
            }
            ("L", Value::Array(items)) => {
                if depth >= 32 {
                    return Err(Invalid(
                        "Nesting Levels have exceeded supported limits".into(),
                    ));
                }
                stack.extend(items.iter().map(|v| (v, depth + 1)));
            }
            ("N", Value::String(number)) => {
                let digits = number.chars().filter(char::is_ascii_digit).count();
                let magnitude = number.parse::<f64>().map(f64::abs).unwrap_or(f64::INFINITY);
                if magnitude >= 1e126 || (magnitude != 0.0 && magnitude < 1e-130) {
                    return Err(Invalid(
                        "Number overflow. Attempting to store a number with magnitude larger than supported range".into(),
                    ));
                }
                if digits > 38 + 2 {
                    return Err(Invalid(
                        "Attempting to store more than 38 significant digits in a Number".into(),
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// An item's size as DynamoDB counts it ([`super::capacity::item_size`]).
pub fn item_size(item: &Map<String, Value>) -> usize {
    usize::try_from(super::capacity::item_size(item)).unwrap_or(usize::MAX)
}

/// The key a ciphertext blob was made under. moto's blobs start with the key id (36
/// characters), as real ones carry the key in their (opaque) header.
fn key_of_ciphertext(blob: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(blob)
        .ok()?;
    let id = std::str::from_utf8(bytes.get(..36)?).ok()?;
    id.chars()
        .all(|c| c.is_ascii_hexdigit() || c == '-')
        .then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys() -> KeySchemas {
        HashMap::from([
            ("t".to_string(), vec!["pk".to_string(), "sk".to_string()]),
            ("u".to_string(), vec!["id".to_string()]),
        ])
    }

    #[test]
    fn decrypt_is_authorised_on_the_key_inside_the_ciphertext() {
        use base64::Engine;
        let key = "0f5a7c1e-2b3d-4e5f-8a9b-0c1d2e3f4a5b";
        let mut blob = key.as_bytes().to_vec();
        blob.extend_from_slice(&[7; 60]);
        let body =
            json!({ "CiphertextBlob": base64::engine::general_purpose::STANDARD.encode(&blob) });
        let call = Call::read(Service::Kms, "Decrypt", &body, &keys()).unwrap();
        assert_eq!(
            call.needs,
            [("kms:Decrypt".to_string(), kms_arn(key))],
            "the key's ARN, not *"
        );
        let body = json!({ "CiphertextBlob": "bm90IGEgYmxvYg==" });
        let call = Call::read(Service::Kms, "Decrypt", &body, &keys()).unwrap();
        assert_eq!(call.needs[0].1, "*");
    }

    #[test]
    fn each_transaction_item_needs_its_own_action_on_its_table() {
        let body = json!({ "TransactItems": [
            { "Put": { "TableName": "t", "Item": { "pk": {"S": "a"}, "sk": {"S": "1"}, "x": {"N": "1"} } } },
            { "Update": { "TableName": "t", "Key": { "pk": {"S": "a"}, "sk": {"S": "#count"} } } },
            { "Delete": { "TableName": "u", "Key": { "id": {"S": "z"} } } },
            { "ConditionCheck": { "TableName": "u", "Key": { "id": {"S": "y"} } } },
        ]});
        let call = Call::read(Service::DynamoDb, "TransactWriteItems", &body, &keys()).unwrap();
        let actions: Vec<&str> = call.needs.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(
            actions,
            [
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:ConditionCheckItem"
            ]
        );
        assert!(call.needs[2].1.ends_with(":table/u"));
        let Writes::Transaction(items) = call.writes else {
            panic!("a transaction")
        };
        assert_eq!(items.len(), 4);
        assert_ne!(items[0], items[1], "same partition, other sort key");
    }

    #[test]
    fn a_transaction_may_touch_an_item_once_and_hold_a_hundred() {
        let put = json!({ "Put": { "TableName": "u", "Item": { "id": {"S": "a"} } } });
        let twice = json!({ "TransactItems": [put.clone(), put.clone()] });
        assert!(Call::read(Service::DynamoDb, "TransactWriteItems", &twice, &keys()).is_err());
        let many: Vec<Value> = (0..101)
            .map(|i| json!({ "Put": { "TableName": "u", "Item": { "id": {"S": i.to_string()} } } }))
            .collect();
        let err = Call::read(
            Service::DynamoDb,
            "TransactWriteItems",
            &json!({ "TransactItems": many }),
            &keys(),
        )
        .unwrap_err();
        assert!(err.0.contains("less than or equal to 100"), "{err:?}");
    }

    #[test]
    fn a_transaction_over_4_mb_is_refused() {
        let blob = "x".repeat(300 * 1024);
        let puts = |n: usize| -> Vec<Value> {
            (0..n)
                .map(|i| json!({ "Put": { "TableName": "u", "Item": { "id": {"S": i.to_string()}, "b": {"S": blob} } } }))
                .collect()
        };
        let read = |items| {
            Call::read(
                Service::DynamoDb,
                "TransactWriteItems",
                &json!({ "TransactItems": items }),
                &keys(),
            )
        };
        assert!(read(puts(13)).is_ok(), "3.8 MB");
        assert!(read(puts(14)).unwrap_err().0.contains("4 MB"));
    }

    #[test]
    fn an_item_over_400_kb_is_refused() {
        let big = "x".repeat(MAX_ITEM_BYTES);
        let body = json!({ "TableName": "u", "Item": { "id": {"S": "a"}, "blob": {"S": big} } });
        assert!(Call::read(Service::DynamoDb, "PutItem", &body, &keys()).is_err());
        let small = json!({ "TableName": "u", "Item": { "id": {"S": "a"}, "m": {"M": {"k": {"L": [{"S": "v"}]}}} } });
        let call = Call::read(Service::DynamoDb, "PutItem", &small, &keys()).unwrap();
        assert!(matches!(call.writes, Writes::Single(_)));
    }

    #[test]
    fn nesting_past_32_levels_and_numbers_out_of_range_are_refused() {
        let mut deep = json!({ "S": "x" });
        for _ in 0..32 {
            deep = json!({ "L": [deep] });
        }
        let body = json!({ "TableName": "u", "Item": { "id": {"S": "a"}, "deep": deep } });
        assert!(Call::read(Service::DynamoDb, "PutItem", &body, &keys()).is_err());
        for number in ["1e126", "-2E200", "1e-131"] {
            let body =
                json!({ "TableName": "u", "Item": { "id": {"S": "a"}, "n": {"N": number} } });
            assert!(
                Call::read(Service::DynamoDb, "PutItem", &body, &keys()).is_err(),
                "{number}"
            );
        }
        let body = json!({ "TableName": "u", "Item": { "id": {"S": "a"}, "n": {"N": "9.5e125"}, "z": {"N": "0"} } });
        assert!(Call::read(Service::DynamoDb, "PutItem", &body, &keys()).is_ok());
    }

    #[test]
    fn queries_on_an_index_need_the_index_arn_and_sqs_batches_their_single_action() {
        let body = json!({ "TableName": "t", "IndexName": "due" });
        let call = Call::read(Service::DynamoDb, "Query", &body, &keys()).unwrap();
        assert!(call.needs[0].1.ends_with(":table/t/index/due"));
        let body =
            json!({ "QueueUrl": "http://127.0.0.1:4566/123456789012/p-Events", "Entries": [] });
        let call = Call::read(Service::Sqs, "SendMessageBatch", &body, &keys()).unwrap();
        assert_eq!(
            call.needs,
            vec![("sqs:SendMessage".into(), queue_arn("p-Events"))]
        );
    }
}
