//! The capacity meter: with `Strictness::meter` on, the layer charges every DynamoDB
//! call the request units AWS would ([`super::capacity`]), by table and by global
//! secondary index. Reads are charged from what the answer carries; writes from the
//! items before and after, which the meter reads from the emulator around the call (so
//! metering doubles the emulator's reads: benchmarks turn it on, tests leave it off).
//!
//! It also keeps what AWS bills beside requests: the bytes each table and index holds
//! (what the writes left, with DynamoDB's 100 bytes per item), and, as the local stack
//! reports them, Lambda invocations with their billed durations and the log bytes each
//! function writes.
//!
//! A read narrowed by a filter or a projection is charged for what it read before them
//! (the meter reads that again, unnarrowed), and a request that asks for
//! `ReturnConsumedCapacity` gets the units in its answer, as from DynamoDB.
//!
//! Left out: failed conditional writes and cancelled transactions (the layer answers
//! those with an error and charges nothing).

use super::capacity::{self, Index, Item, Projection, TRANSACTION_FACTOR};
use crate::{provision::Provisioned, template::Template};
use serde_json::{Map, Value, json};
use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
    time::Duration,
};

/// Request units charged.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Units {
    pub read: f64,
    pub write: f64,
}

struct Table {
    keys: Vec<String>,
    indexes: Vec<Index>,
}

/// One item a write touches.
pub(super) struct Touch {
    pub table: String,
    pub key: Item,
    /// A condition check: read, not written.
    check: bool,
}

/// The meter: each table's and index's units so far, by the function that spent them,
/// and the SQS and KMS requests AWS bills.
pub struct Meter {
    tables: HashMap<String, Table>,
    /// By (function, table or `table/index`).
    charged: Mutex<BTreeMap<(String, String), Units>>,
    /// Billed requests by (function, `Service.Operation`).
    requests: Mutex<BTreeMap<(String, String), u64>>,
    /// Bytes stored by (table or `table/index`, item key).
    stored: Mutex<HashMap<(String, String), u64>>,
    /// Lambda invocations by function, and which function each request id was.
    invocations: Mutex<Invocations>,
}

/// What DynamoDB counts per item stored, beside its attributes (and per index entry).
const ITEM_OVERHEAD: u64 = 100;

/// A function's Lambda invocations: how many, and what they bill.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Invoked {
    pub count: u64,
    /// Billed duration: each invocation's rounded up to the millisecond.
    pub billed_ms: u64,
    /// Billed duration times memory, in GB-seconds.
    pub gb_seconds: f64,
    /// Log bytes: its own lines, and the platform's START, END and REPORT lines.
    pub log_bytes: u64,
}

#[derive(Default)]
struct Invocations {
    by_function: BTreeMap<String, Invoked>,
    function_of: HashMap<String, String>,
}

/// The bytes of the lines Lambda writes for every invocation (text format, tracing
/// active): START, END, and REPORT with its X-Ray line.
fn platform_log_bytes(request_id: &str, billed_ms: u64, memory_mb: u32) -> u64 {
    let lines = [
        format!("START RequestId: {request_id} Version: $LATEST\n"),
        format!("END RequestId: {request_id}\n"),
        format!(
            "REPORT RequestId: {request_id}\tDuration: {billed_ms}.00 ms\tBilled Duration: {billed_ms} ms\t\
             Memory Size: {memory_mb} MB\tMax Memory Used: 32 MB\t\n\
             XRAY TraceId: 1-00000000-000000000000000000000000\tSegmentId: 0000000000000000\tSampled: true\t\n"
        ),
    ];
    lines.iter().map(|line| line.len() as u64).sum()
}

/// How much one billed SQS request carries: a bigger payload is billed per 64 KB chunk.
const SQS_CHUNK: usize = 64 * 1024;

impl Meter {
    /// A meter for the tables of `template`, as `provisioned` named them.
    pub fn new(template: &Template, provisioned: &Provisioned) -> Result<Meter, crate::BoxError> {
        let mut tables = HashMap::new();
        for table in template.tables()? {
            let Some(name) = provisioned.tables.get(&table.logical_id) else {
                continue;
            };
            let indexes = table
                .indexes
                .iter()
                .map(|index| Index {
                    name: index.name.clone(),
                    keys: index.keys.iter().map(|k| k.attribute.clone()).collect(),
                    projection: match index.projection.as_str() {
                        "KEYS_ONLY" => Projection::KeysOnly,
                        "INCLUDE" => Projection::Include(index.included.clone()),
                        _ => Projection::All,
                    },
                })
                .collect();
            tables.insert(
                name.clone(),
                Table {
                    keys: table.keys.iter().map(|k| k.attribute.clone()).collect(),
                    indexes,
                },
            );
        }
        Ok(Meter {
            tables,
            charged: Mutex::new(BTreeMap::new()),
            requests: Mutex::new(BTreeMap::new()),
            stored: Mutex::new(HashMap::new()),
            invocations: Mutex::new(Invocations::default()),
        })
    }

    /// An invocation of `function` begins as request `request_id`: its log lines are
    /// counted for it from now.
    pub fn invoking(&self, function: &str, request_id: &str) {
        let mut invocations = self.invocations.lock().expect("the meter");
        invocations
            .function_of
            .insert(request_id.to_string(), function.to_string());
    }

    /// The invocation of `function` (`memory_mb` of memory) as request `request_id`
    /// ended after `elapsed`.
    pub fn invoked(&self, function: &str, memory_mb: u32, request_id: &str, elapsed: Duration) {
        let billed_ms = (elapsed.as_micros() as u64).div_ceil(1_000).max(1);
        let mut invocations = self.invocations.lock().expect("the meter");
        let invoked = invocations
            .by_function
            .entry(function.to_string())
            .or_default();
        invoked.count += 1;
        invoked.billed_ms += billed_ms;
        invoked.gb_seconds += billed_ms as f64 / 1_000.0 * f64::from(memory_mb) / 1_024.0;
        invoked.log_bytes += platform_log_bytes(request_id, billed_ms, memory_mb);
    }

    /// A log line of `bytes` written during request `request_id` (`None`: outside any
    /// invocation): counted for its function.
    pub fn logged(&self, request_id: Option<&str>, bytes: usize) {
        let mut invocations = self.invocations.lock().expect("the meter");
        let function = request_id
            .and_then(|id| invocations.function_of.get(id).cloned())
            .unwrap_or_else(|| "(outside an invocation)".into());
        invocations
            .by_function
            .entry(function)
            .or_default()
            .log_bytes += bytes as u64;
    }

    /// Lambda invocations so far, by function.
    pub fn invocations(&self) -> BTreeMap<String, Invoked> {
        self.invocations
            .lock()
            .expect("the meter")
            .by_function
            .clone()
    }

    /// What each table and index holds now of what was written through the layer:
    /// items and bytes (DynamoDB's per-item 100 bytes included).
    pub fn stored(&self) -> BTreeMap<String, (u64, u64)> {
        let mut total: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for ((name, _), bytes) in self.stored.lock().expect("the meter").iter() {
            let sum = total.entry(name.clone()).or_default();
            sum.0 += 1;
            sum.1 += bytes;
        }
        total
    }

    /// Keeps what `after` leaves of `touch`'s item in its table and indexes.
    fn store(&self, touch: &Touch, table: Option<&Table>, after: Option<&Item>) {
        let key = serde_json::to_string(&touch.key).unwrap_or_default();
        let mut stored = self.stored.lock().expect("the meter");
        let mut keep = |name: String, item: Option<Item>| match item {
            Some(item) => {
                stored.insert(
                    (name, key.clone()),
                    capacity::item_size(&item) + ITEM_OVERHEAD,
                );
            }
            None => {
                stored.remove(&(name, key.clone()));
            }
        };
        keep(touch.table.clone(), after.cloned());
        for index in table.map(|t| t.indexes.as_slice()).unwrap_or_default() {
            let keys = &table.expect("a table with indexes").keys;
            let projected = after.and_then(|item| index.projected(item, keys));
            keep(format!("{}/{}", touch.table, index.name), projected);
        }
    }

    /// The units charged so far: by table, and by `table/index`.
    pub fn charged(&self) -> BTreeMap<String, Units> {
        let mut total: BTreeMap<String, Units> = BTreeMap::new();
        for ((_, name), units) in self.charged_by_function() {
            let sum = total.entry(name).or_default();
            sum.read += units.read;
            sum.write += units.write;
        }
        total
    }

    /// The units charged so far, by (function, table or `table/index`).
    pub fn charged_by_function(&self) -> BTreeMap<(String, String), Units> {
        self.charged.lock().expect("the meter").clone()
    }

    /// The SQS and KMS requests AWS would bill so far, by (function, `Service.Operation`):
    /// SQS per 64 KB chunk, a receive only when it returned messages (an empty long poll
    /// is billed too in AWS, but its number is the pollers', not the traffic's).
    pub fn requests(&self) -> BTreeMap<(String, String), u64> {
        self.requests.lock().expect("the meter").clone()
    }

    fn charge(&self, function: &str, name: String, read: f64, write: f64) {
        let mut charged = self.charged.lock().expect("the meter");
        let units = charged.entry((function.to_string(), name)).or_default();
        units.read += read;
        units.write += write;
    }

    /// An SQS or KMS call of `function` (`service` `Sqs` or `Kms`), its request's and
    /// answer's bytes.
    pub(super) fn count_request(
        &self,
        function: &str,
        service: &str,
        operation: &str,
        request_bytes: usize,
        answer: &Value,
    ) {
        let billed = match (service, operation) {
            ("Sqs", "ReceiveMessage") => {
                let returned = answer["Messages"].as_array().map_or(0, Vec::len);
                if returned == 0 {
                    return;
                }
                answer.to_string().len().div_ceil(SQS_CHUNK).max(1)
            }
            ("Sqs", _) => request_bytes.div_ceil(SQS_CHUNK).max(1),
            _ => 1,
        };
        let mut requests = self.requests.lock().expect("the meter");
        *requests
            .entry((function.to_string(), format!("{service}.{operation}")))
            .or_default() += billed as u64;
    }

    /// The items `operation` (a DynamoDB write) touches; none for a read.
    pub(super) fn touches(&self, operation: &str, request: &Value) -> Vec<Touch> {
        let key_of = |table: &str, item: &Map<String, Value>| -> Item {
            let keys = self
                .tables
                .get(table)
                .map(|t| t.keys.as_slice())
                .unwrap_or_default();
            item.iter()
                .filter(|(name, _)| keys.contains(name))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect()
        };
        let one = |body: &Value, check: bool| -> Option<Touch> {
            let table = body["TableName"].as_str()?.to_string();
            let key = match body["Item"].as_object() {
                Some(item) => key_of(&table, item),
                None => body["Key"].as_object()?.clone(),
            };
            Some(Touch { table, key, check })
        };
        match operation {
            "PutItem" | "UpdateItem" | "DeleteItem" => one(request, false).into_iter().collect(),
            "TransactWriteItems" => request["TransactItems"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|item| {
                    let (kind, body) = item.as_object()?.iter().next()?;
                    one(body, kind == "ConditionCheck")
                })
                .collect(),
            "BatchWriteItem" => request["RequestItems"]
                .as_object()
                .into_iter()
                .flatten()
                .flat_map(|(table, requests)| {
                    requests
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|request| {
                            let key = match request["PutRequest"]["Item"].as_object() {
                                Some(item) => key_of(table, item),
                                None => request["DeleteRequest"]["Key"].as_object()?.clone(),
                            };
                            Some(Touch {
                                table: table.clone(),
                                key,
                                check: false,
                            })
                        })
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Charges `call` of `function` what it costs, and says what that was, by table or
    /// `table/index` (what DynamoDB's `ConsumedCapacity` reports).
    pub(super) fn charge_call(&self, function: &str, call: Metered<'_>) -> BTreeMap<String, Units> {
        let mut bill = Bill::default();
        let Metered {
            operation,
            request,
            touches,
            before,
            after,
            answer,
            unnarrowed,
        } = call;
        let read = unnarrowed.unwrap_or(answer);
        let consistent = request["ConsistentRead"].as_bool() == Some(true);
        let size = |item: &Value| item.as_object().map_or(0, capacity::item_size);
        match operation {
            "GetItem" => {
                let table = request["TableName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                bill.add(
                    table,
                    capacity::read_units(size(&read["Item"]), consistent),
                    0.0,
                );
            }
            "Query" | "Scan" => {
                let read: u64 = read["Items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(size)
                    .sum();
                let table = request["TableName"].as_str().unwrap_or_default();
                let name = match request["IndexName"].as_str() {
                    Some(index) => format!("{table}/{index}"),
                    None => table.to_string(),
                };
                bill.add(name, capacity::read_units(read, consistent), 0.0);
            }
            "BatchGetItem" => {
                for (table, items) in answer["Responses"].as_object().into_iter().flatten() {
                    let consistent =
                        request["RequestItems"][table]["ConsistentRead"].as_bool() == Some(true);
                    for item in items.as_array().into_iter().flatten() {
                        bill.add(
                            table.clone(),
                            capacity::read_units(size(item), consistent),
                            0.0,
                        );
                    }
                }
            }
            "TransactGetItems" => {
                let requested = request["TransactItems"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let answered = answer["Responses"].as_array().cloned().unwrap_or_default();
                for (asked, got) in requested
                    .iter()
                    .zip(answered.iter().chain(std::iter::repeat(&Value::Null)))
                {
                    let table = asked["Get"]["TableName"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let units = capacity::read_units(size(&got["Item"]), true) * TRANSACTION_FACTOR;
                    bill.add(table, units, 0.0);
                }
            }
            _ => {
                let factor = if operation == "TransactWriteItems" {
                    TRANSACTION_FACTOR
                } else {
                    1.0
                };
                for ((touch, before), after) in touches.iter().zip(before).zip(after) {
                    let bytes = |item: &Option<Item>| item.as_ref().map_or(0, capacity::item_size);
                    if touch.check {
                        let units = capacity::read_units(bytes(before), true) * factor;
                        bill.add(touch.table.clone(), units, 0.0);
                        continue;
                    }
                    let write = capacity::write_units(bytes(before).max(bytes(after))) * factor;
                    bill.add(touch.table.clone(), 0.0, write);
                    let table = self.tables.get(&touch.table);
                    self.store(touch, table, after.as_ref());
                    let Some(table) = table else {
                        continue;
                    };
                    for index in &table.indexes {
                        let units = index.write_units(&table.keys, before.as_ref(), after.as_ref());
                        if units > 0.0 {
                            bill.add(format!("{}/{}", touch.table, index.name), 0.0, units);
                        }
                    }
                }
            }
        }
        for (name, units) in &bill.0 {
            self.charge(function, name.clone(), units.read, units.write);
        }
        bill.0
    }
}

/// One call's units, by table or `table/index`.
#[derive(Default)]
struct Bill(BTreeMap<String, Units>);

impl Bill {
    fn add(&mut self, name: String, read: f64, write: f64) {
        let units = self.0.entry(name).or_default();
        units.read += read;
        units.write += write;
    }
}

/// A DynamoDB call as the meter charges it.
pub(super) struct Metered<'a> {
    pub operation: &'a str,
    pub request: &'a Value,
    /// The items it writes ([`Meter::touches`]), and their images before and after.
    pub touches: &'a [Touch],
    pub before: &'a [Option<Item>],
    pub after: &'a [Option<Item>],
    /// The emulator's answer.
    pub answer: &'a Value,
    /// What a narrowed read read before its filter or projection ([`unnarrowed`]).
    pub unnarrowed: Option<&'a Value>,
}

/// A `GetItem` request for `key` of `table`, strongly consistent.
pub(super) fn get_item(table: &str, key: &Item) -> Value {
    json!({ "TableName": table, "Key": key, "ConsistentRead": true })
}

/// What DynamoDB adds to an answer as `ConsumedCapacity` when the request asks for it
/// (`ReturnConsumedCapacity`: `TOTAL`, or `INDEXES` for the table's own units and each
/// global secondary index's beside): one object per table, in a list for the batch and
/// transaction calls. `None` when not asked.
pub(super) fn consumed_capacity(
    operation: &str,
    request: &Value,
    bill: &BTreeMap<String, Units>,
) -> Option<Value> {
    let indexes = match request["ReturnConsumedCapacity"].as_str() {
        Some("TOTAL") => false,
        Some("INDEXES") => true,
        _ => return None,
    };
    let figures = |units: &Units| {
        json!({
            "CapacityUnits": units.read + units.write,
            "ReadCapacityUnits": units.read,
            "WriteCapacityUnits": units.write,
        })
    };
    // By table: its own units, and each index's.
    let mut tables: BTreeMap<&str, (Units, BTreeMap<&str, Units>)> = BTreeMap::new();
    if let Some(table) = request["TableName"].as_str() {
        tables.entry(table).or_default();
    }
    for (name, units) in bill {
        let (table, index) = match name.split_once('/') {
            Some((table, index)) => (table, Some(index)),
            None => (name.as_str(), None),
        };
        let (own, by_index) = tables.entry(table).or_default();
        match index {
            Some(index) => *by_index.entry(index).or_default() = *units,
            None => *own = *units,
        }
    }
    let each: Vec<Value> = tables
        .iter()
        .map(|(table, (own, by_index))| {
            let mut total = *own;
            for units in by_index.values() {
                total.read += units.read;
                total.write += units.write;
            }
            let mut consumed = figures(&total);
            consumed["TableName"] = json!(table);
            if indexes {
                consumed["Table"] = figures(own);
                if !by_index.is_empty() {
                    consumed["GlobalSecondaryIndexes"] = by_index
                        .iter()
                        .map(|(index, units)| (index.to_string(), figures(units)))
                        .collect::<Map<String, Value>>()
                        .into();
                }
            }
            consumed
        })
        .collect();
    Some(match operation {
        "BatchGetItem" | "BatchWriteItem" | "TransactGetItems" | "TransactWriteItems" => {
            Value::Array(each)
        }
        _ => each.into_iter().next().unwrap_or(Value::Null),
    })
}

/// The read DynamoDB charges for when `request` narrows what it answers: a query or
/// scan with a filter, a projection or `Select` is charged for every item it read
/// before them, and a projected `GetItem` for the whole item. The same request without
/// them (its expression names and values cut to those the key condition uses), to read
/// what was charged; `None` when the answer carries it already.
pub(super) fn unnarrowed(operation: &str, request: &Value) -> Option<Value> {
    let narrowing = [
        "FilterExpression",
        "ProjectionExpression",
        "Select",
        "AttributesToGet",
    ];
    if !matches!(operation, "GetItem" | "Query" | "Scan")
        || !narrowing.iter().any(|field| request.get(field).is_some())
    {
        return None;
    }
    let mut full = request.clone();
    let object = full.as_object_mut()?;
    for field in narrowing {
        object.remove(field);
    }
    let kept = request["KeyConditionExpression"]
        .as_str()
        .unwrap_or_default();
    for (field, sigil) in [
        ("ExpressionAttributeNames", '#'),
        ("ExpressionAttributeValues", ':'),
    ] {
        let Some(map) = object.get_mut(field).and_then(Value::as_object_mut) else {
            continue;
        };
        map.retain(|name, _| uses(kept, name, sigil));
        if map.is_empty() {
            object.remove(field);
        }
    }
    Some(full)
}

/// Whether `expression` names `token` (`#name` or `:value`) as a whole word.
fn uses(expression: &str, token: &str, sigil: char) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    expression.match_indices(token).any(|(at, _)| {
        let after = expression[at + token.len()..].chars().next();
        token.starts_with(sigil) && !after.is_some_and(word)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_narrowed_read_is_read_again_whole_with_only_what_its_key_condition_names() {
        let query = json!({
            "TableName": "logs",
            "KeyConditionExpression": "pk = :pk AND begins_with(#sk, :prefix)",
            "FilterExpression": "#status = :status AND :pkx <> #sk",
            "ProjectionExpression": "#sk, body",
            "ExpressionAttributeNames": { "#sk": "sk", "#status": "status" },
            "ExpressionAttributeValues": {
                ":pk": { "S": "a" }, ":prefix": { "S": "log_" },
                ":status": { "S": "failed" }, ":pkx": { "S": "b" },
            },
            "Limit": 10,
        });
        assert_eq!(
            unnarrowed("Query", &query),
            Some(json!({
                "TableName": "logs",
                "KeyConditionExpression": "pk = :pk AND begins_with(#sk, :prefix)",
                "ExpressionAttributeNames": { "#sk": "sk" },
                "ExpressionAttributeValues": { ":pk": { "S": "a" }, ":prefix": { "S": "log_" } },
                "Limit": 10,
            })),
            ":pkx is not :pk, and the limit (items evaluated) stays"
        );
        let scan = json!({ "TableName": "t", "FilterExpression": "#a = :a",
            "ExpressionAttributeNames": { "#a": "a" }, "ExpressionAttributeValues": { ":a": { "N": "1" } } });
        assert_eq!(unnarrowed("Scan", &scan), Some(json!({ "TableName": "t" })));
        let get = json!({ "TableName": "t", "Key": {}, "ProjectionExpression": "#a",
            "ExpressionAttributeNames": { "#a": "a" } });
        assert_eq!(
            unnarrowed("GetItem", &get),
            Some(json!({ "TableName": "t", "Key": {} }))
        );
        assert_eq!(unnarrowed("Query", &json!({ "TableName": "t" })), None);
        assert_eq!(unnarrowed("PutItem", &get), None);
    }

    #[test]
    fn consumed_capacity_is_reported_per_table_with_its_indexes_when_asked() {
        let units = |read, write| Units { read, write };
        let bill: BTreeMap<String, Units> = [
            ("logs".to_string(), units(0.0, 2.0)),
            ("logs/due".to_string(), units(0.0, 1.0)),
            ("events".to_string(), units(0.5, 4.0)),
        ]
        .into();
        let put = json!({ "TableName": "logs", "ReturnConsumedCapacity": "INDEXES" });
        let put_bill: BTreeMap<String, Units> = bill
            .iter()
            .filter(|(name, _)| name.starts_with("logs"))
            .map(|(name, units)| (name.clone(), *units))
            .collect();
        assert_eq!(
            consumed_capacity("PutItem", &put, &put_bill),
            Some(json!({
                "TableName": "logs",
                "CapacityUnits": 3.0, "ReadCapacityUnits": 0.0, "WriteCapacityUnits": 3.0,
                "Table": { "CapacityUnits": 2.0, "ReadCapacityUnits": 0.0, "WriteCapacityUnits": 2.0 },
                "GlobalSecondaryIndexes": {
                    "due": { "CapacityUnits": 1.0, "ReadCapacityUnits": 0.0, "WriteCapacityUnits": 1.0 }
                },
            }))
        );
        // A read that found nothing is still reported, on the table it asked.
        let get = json!({ "TableName": "keys", "ReturnConsumedCapacity": "TOTAL" });
        let empty = BTreeMap::from([("keys".to_string(), units(1.0, 0.0))]);
        assert_eq!(
            consumed_capacity("GetItem", &get, &empty),
            Some(
                json!({ "TableName": "keys", "CapacityUnits": 1.0, "ReadCapacityUnits": 1.0, "WriteCapacityUnits": 0.0 })
            )
        );
        let transaction = json!({ "ReturnConsumedCapacity": "TOTAL" });
        assert_eq!(
            consumed_capacity("TransactWriteItems", &transaction, &bill),
            Some(json!([
                { "TableName": "events", "CapacityUnits": 4.5, "ReadCapacityUnits": 0.5, "WriteCapacityUnits": 4.0 },
                { "TableName": "logs", "CapacityUnits": 3.0, "ReadCapacityUnits": 0.0, "WriteCapacityUnits": 3.0 },
            ]))
        );
        assert_eq!(consumed_capacity("PutItem", &json!({}), &bill), None);
        let none = json!({ "ReturnConsumedCapacity": "NONE" });
        assert_eq!(consumed_capacity("PutItem", &none, &bill), None);
    }
}
