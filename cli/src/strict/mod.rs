//! The strict layer: a proxy in front of the emulator that makes it refuse what AWS
//! refuses. Every function reaches DynamoDB, SQS and KMS through it with credentials
//! naming the function, and gets:
//! - **IAM** from template.yaml: each call (each transaction item by its own action) is
//!   allowed only if the function's role allows it, else `AccessDeniedException`;
//! - **DynamoDB's concurrency**: a transaction's items stay in flight for a while, an
//!   overlapping transaction is cancelled (`TransactionConflict`) and a single write to
//!   such an item fails with `TransactionConflictException`;
//! - **limits** the emulator does not check (100 items per transaction, one operation
//!   per item, 400 KB per item);
//! - **SQS fair queues**: a queue whose messages carry a group id (the tenant) hands
//!   out the messages of the group with the fewest in flight first (`fair`);
//! - optionally **faults**: throttling, 500s, and SQS messages visible again at once.

pub mod calls;
pub mod capacity;
mod fair;
pub mod iam;
pub mod meter;
pub mod s3;

use crate::{BoxError, provision::Provisioned, template::Template};
use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use calls::{Call, Invalid, KeySchemas, Service, Writes};
use iam::{Decision, KeyPolicy, Policy, Resolver};
use serde_json::{Value, json};
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::{net::TcpListener, task::JoinHandle};

/// The secret every local function's credentials carry (requests are not re-signed).
pub const LOCAL_SECRET: &str = "local-function-secret";

/// How often the fault mode injects each fault, from 0 (never) to 1 (always).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Faults {
    /// DynamoDB answers `ProvisionedThroughputExceededException`.
    pub throttle: f64,
    /// DynamoDB or SQS answers 500 without doing anything.
    pub server_error: f64,
    /// A message SQS hands out is visible again at once (another consumer gets it too).
    pub redelivery: f64,
}

impl Faults {
    /// Reads `throttle=0.05,error=0.02,redelivery=0.05` (any subset; `off` or empty: none).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut faults = Faults::default();
        for part in text
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty() && *p != "off")
        {
            let (name, rate) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: expected name=rate"))?;
            let rate: f64 = rate
                .trim()
                .parse()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| format!("{part:?}: the rate must be a number from 0 to 1"))?;
            match name.trim() {
                "throttle" => faults.throttle = rate,
                "error" => faults.server_error = rate,
                "redelivery" => faults.redelivery = rate,
                other => {
                    return Err(format!(
                        "unknown fault {other:?} (throttle, error, redelivery)"
                    ));
                }
            }
        }
        Ok(faults)
    }

    fn strikes(rate: f64) -> bool {
        rate > 0.0 && rand::random::<f64>() < rate
    }
}

/// How strict the layer is.
#[derive(Clone, Copy, Debug)]
pub struct Strictness {
    /// How long a transaction's items stay in flight (DynamoDB: tens of milliseconds).
    pub in_flight: Duration,
    pub faults: Faults,
    /// Charge every DynamoDB call its request units (`meter`): benchmarks do, tests
    /// leave it off (it reads each written item twice more).
    pub meter: bool,
}

impl Default for Strictness {
    fn default() -> Self {
        Strictness {
            in_flight: Duration::from_millis(20),
            faults: Faults::default(),
            meter: false,
        }
    }
}

/// What the layer refused or injected, for tests and benchmarks to print.
#[derive(Debug, Default)]
pub struct Tally {
    pub calls: AtomicU64,
    pub denied: AtomicU64,
    pub transactions_cancelled: AtomicU64,
    pub writes_conflicted: AtomicU64,
    pub throttled: AtomicU64,
    pub server_errors: AtomicU64,
    pub redelivered: AtomicU64,
}

impl Tally {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} calls, {} denied, {} transactions cancelled by conflicts, {} writes conflicted, \
             {} throttled, {} server errors, {} messages redelivered (injected)",
            Self::get(&self.calls),
            Self::get(&self.denied),
            Self::get(&self.transactions_cancelled),
            Self::get(&self.writes_conflicted),
            Self::get(&self.throttled),
            Self::get(&self.server_errors),
            Self::get(&self.redelivered),
        )
    }
}

/// A function's role, as the layer knows it from the access key of its credentials.
struct Role {
    function: String,
    /// Its ARN, as a key policy's `aws:PrincipalArn` sees it.
    arn: String,
    policy: Policy,
}

#[derive(Default)]
struct Holds {
    transactions: u32,
    singles: u32,
}

/// The items writes hold right now.
#[derive(Default)]
struct InFlight(Mutex<HashMap<calls::ItemKey, Holds>>);

impl InFlight {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<calls::ItemKey, Holds>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Holds every item of a transaction, or returns which of them another write holds.
    fn hold_transaction(self: &Arc<Self>, items: &[calls::ItemKey]) -> Result<Hold, Vec<bool>> {
        let mut held = self.lock();
        let busy: Vec<bool> = items.iter().map(|item| held.contains_key(item)).collect();
        if busy.iter().any(|b| *b) {
            return Err(busy);
        }
        for item in items {
            held.entry(item.clone()).or_default().transactions += 1;
        }
        Ok(Hold {
            in_flight: self.clone(),
            items: items.to_vec(),
            transaction: true,
        })
    }

    /// Holds an item for a single write, unless a transaction holds it. Single writes
    /// to one item do not conflict with each other: DynamoDB serialises them.
    fn hold_single(self: &Arc<Self>, item: &calls::ItemKey) -> Option<Hold> {
        let mut held = self.lock();
        let holds = held.entry(item.clone()).or_default();
        if holds.transactions > 0 {
            return None;
        }
        holds.singles += 1;
        Some(Hold {
            in_flight: self.clone(),
            items: vec![item.clone()],
            transaction: false,
        })
    }
}

/// Items held until dropped.
struct Hold {
    in_flight: Arc<InFlight>,
    items: Vec<calls::ItemKey>,
    transaction: bool,
}

impl Drop for Hold {
    fn drop(&mut self) {
        let mut held = self.in_flight.lock();
        for item in &self.items {
            if let Some(holds) = held.get_mut(item) {
                if self.transaction {
                    holds.transactions -= 1;
                } else {
                    holds.singles -= 1;
                }
                if holds.transactions == 0 && holds.singles == 0 {
                    held.remove(item);
                }
            }
        }
    }
}

struct Layer {
    upstream: String,
    client: reqwest::Client,
    roles: HashMap<String, Role>,
    /// Each KMS key's own policy, by the key's ARN.
    key_policies: HashMap<String, KeyPolicy>,
    keys: KeySchemas,
    in_flight: Arc<InFlight>,
    strictness: Strictness,
    tally: Arc<Tally>,
    /// SQS fair queues, modelled (`fair`).
    fair: fair::FairQueues,
    /// The buckets' names: a request whose path starts with one is S3's (`s3`).
    buckets: Vec<String>,
    meter: Option<Arc<meter::Meter>>,
}

/// A running strict layer. Dropping it stops it.
pub struct StrictLayer {
    pub url: String,
    pub tally: Arc<Tally>,
    /// The request units charged, when metering (`Strictness::meter`).
    pub meter: Option<Arc<meter::Meter>>,
    layer: Arc<Layer>,
    task: JoinHandle<()>,
}

impl Drop for StrictLayer {
    fn drop(&mut self) {
        self.task.abort();
        // The fair queues' held messages are the queue's, not this layer's: visible
        // again at once, as the stack that stopped never received them.
        let held = self.layer.fair.close();
        if !held.is_empty()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let layer = self.layer.clone();
            runtime.spawn(async move { fair::release(&layer, held).await });
        }
    }
}

impl StrictLayer {
    /// Serves on a free loopback port, in front of the emulator at `upstream`. Each
    /// function of `template` is known by an access key equal to its logical id.
    pub async fn start(
        upstream: &str,
        template: &Template,
        provisioned: &Provisioned,
        strictness: Strictness,
    ) -> Result<Self, BoxError> {
        let resolver = Resolver {
            template,
            provisioned,
        };
        let mut roles = HashMap::new();
        for function in template.functions()? {
            let policy = Policy::for_function(&function, &resolver)?;
            let arn = iam::role_arn(&function, &resolver)?;
            roles.insert(
                function.logical_id.clone(),
                Role {
                    function: function.logical_id,
                    arn,
                    policy,
                },
            );
        }
        let mut key_policies = HashMap::new();
        for (logical_id, document) in template.key_policies() {
            if let Some((_, arn)) = provisioned.keys.get(&logical_id) {
                let policy = KeyPolicy::parse(&document, &resolver)
                    .map_err(|e| format!("{logical_id}: KeyPolicy: {}", e.0))?;
                key_policies.insert(arn.clone(), policy);
            }
        }
        let mut keys = KeySchemas::new();
        for table in template.tables()? {
            if let Some(name) = provisioned.tables.get(&table.logical_id) {
                keys.insert(
                    name.clone(),
                    table.keys.into_iter().map(|k| k.attribute).collect(),
                );
            }
        }
        let tally = Arc::new(Tally::default());
        let meter = match strictness.meter {
            true => Some(Arc::new(meter::Meter::new(template, provisioned)?)),
            false => None,
        };
        let layer = Arc::new(Layer {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::builder()
                .no_proxy()
                .use_preconfigured_tls(shared::tls::delivery_config())
                .build()?,
            roles,
            key_policies,
            keys,
            in_flight: Arc::default(),
            strictness,
            tally: tally.clone(),
            fair: fair::FairQueues::default(),
            buckets: provisioned.buckets.values().cloned().collect(),
            meter: meter.clone(),
        });
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = Router::new().fallback(handle).with_state(layer.clone());
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "strict layer stopped");
            }
        });
        Ok(StrictLayer {
            url,
            tally,
            meter,
            layer,
            task,
        })
    }
}

/// An error in the shape the service's SDK parses.
fn refuse(
    service: Service,
    status: StatusCode,
    code: &str,
    message: &str,
    extra: Value,
) -> Response {
    let (content_type, kind) = match service {
        Service::DynamoDb => (
            "application/x-amz-json-1.0",
            match code {
                "AccessDeniedException" | "UnrecognizedClientException" => {
                    format!("com.amazon.coral.service#{code}")
                }
                _ => format!("com.amazonaws.dynamodb.v20120810#{code}"),
            },
        ),
        Service::Sqs => (
            "application/x-amz-json-1.0",
            format!("com.amazonaws.sqs#{code}"),
        ),
        Service::Kms => ("application/x-amz-json-1.1", code.to_string()),
    };
    let mut body = json!({ "__type": kind, "message": message });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if service == Service::Sqs
        && let Ok(value) = HeaderValue::from_str(&format!("{code};Sender"))
    {
        response.headers_mut().insert("x-amzn-query-error", value);
    }
    response
}

/// The refusal of a KMS call the key's own policy does not allow for `role` (with the
/// encryption context the call gives), if any: in AWS a key use needs both.
fn key_policy_refusal(layer: &Layer, role: &Role, call: &Call, json: &Value) -> Option<Response> {
    let empty = serde_json::Map::new();
    let context = json
        .get("EncryptionContext")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let (action, resource) = call.needs.iter().find(|(action, resource)| {
        action.starts_with("kms:")
            && layer
                .key_policies
                .get(resource)
                .is_some_and(|policy| policy.decide(action, &role.arn, context) != Decision::Allow)
    })?;
    layer.tally.denied.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(
        function = %role.function,
        %action,
        %resource,
        "AccessDenied: the key policy in template.yaml does not allow this role or context"
    );
    let message = format!(
        "User: {} is not authorized to perform: {action} on resource: {resource} \
         because no resource-based policy allows the {action} action",
        role.arn
    );
    Some(refuse(
        Service::Kms,
        StatusCode::BAD_REQUEST,
        "AccessDeniedException",
        &message,
        Value::Null,
    ))
}

/// Counts and logs a call `role`'s policy does not allow: what AWS answers it.
fn denied(layer: &Layer, role: &Role, action: &str, resource: &str) -> String {
    layer.tally.denied.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(
        function = %role.function,
        %action,
        %resource,
        "AccessDenied: the function's policy in template.yaml does not allow this"
    );
    format!(
        "User: arn:aws:sts::{}:assumed-role/{}Role/{} is not authorized to perform: {action} on resource: {resource} \
         because no identity-based policy allows the {action} action",
        iam::ACCOUNT_ID,
        role.function,
        role.function
    )
}

/// The access key of a SigV4 `Authorization` header.
fn access_key(headers: &HeaderMap) -> Option<&str> {
    let authorization = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let credential = authorization.split("Credential=").nth(1)?;
    credential.split('/').next()
}

async fn handle(State(layer): State<Arc<Layer>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, 64 * 1024 * 1024).await {
        Ok(body) => body,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "request too large").into_response(),
    };
    layer.tally.calls.fetch_add(1, Ordering::Relaxed);
    if !parts.headers.contains_key("x-amz-target")
        && s3::bucket_of(parts.uri.path(), &layer.buckets).is_some()
    {
        return s3::handle(&layer, parts, body).await;
    }
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let Some((service, operation)) = target
        .split_once('.')
        .and_then(|(prefix, op)| Service::of_target(prefix).map(|s| (s, op.to_string())))
    else {
        return (
            StatusCode::BAD_REQUEST,
            format!("the strict layer reads AWS JSON requests only (X-Amz-Target {target:?})"),
        )
            .into_response();
    };
    let Some(role) = access_key(&parts.headers).and_then(|key| layer.roles.get(key)) else {
        return refuse(
            service,
            StatusCode::BAD_REQUEST,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            Value::Null,
        );
    };
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let call = match Call::read(service, &operation, &json, &layer.keys) {
        Ok(call) => call,
        Err(Invalid(message)) => {
            return refuse(
                service,
                StatusCode::BAD_REQUEST,
                "ValidationException",
                &message,
                Value::Null,
            );
        }
    };
    for ((action, resource), leading) in call.needs.iter().zip(&call.leading) {
        if role.policy.decide(action, resource, leading) != Decision::Allow {
            let message = denied(&layer, role, action, resource);
            return refuse(
                service,
                StatusCode::BAD_REQUEST,
                "AccessDeniedException",
                &message,
                Value::Null,
            );
        }
    }
    if let Some(refused) = key_policy_refusal(&layer, role, &call, &json) {
        return refused;
    }
    if let Some(injected) = inject_fault(&layer, service) {
        return injected;
    }
    let started = Instant::now();
    let _hold = match &call.writes {
        Writes::None => None,
        Writes::Single(item) => match layer.in_flight.hold_single(item) {
            Some(hold) => Some(hold),
            None => {
                layer
                    .tally
                    .writes_conflicted
                    .fetch_add(1, Ordering::Relaxed);
                return refuse(
                    service,
                    StatusCode::BAD_REQUEST,
                    "TransactionConflictException",
                    "Transaction is ongoing for the item",
                    Value::Null,
                );
            }
        },
        Writes::Transaction(items) => match layer.in_flight.hold_transaction(items) {
            Ok(hold) => Some(hold),
            Err(busy) => {
                layer
                    .tally
                    .transactions_cancelled
                    .fetch_add(1, Ordering::Relaxed);
                return cancelled(&busy);
            }
        },
    };
    if service == Service::Sqs && operation == "ReceiveMessage" {
        let response =
            fair::FairQueues::receive(layer.clone(), parts.headers.clone(), json.clone()).await;
        return redeliver_some(&layer, &parts.headers, &json, response).await;
    }
    let meter = layer
        .meter
        .as_ref()
        .filter(|_| service == Service::DynamoDb);
    let touches = meter
        .map(|m| m.touches(&operation, &json))
        .unwrap_or_default();
    let before = images(&layer, &parts, &touches).await;
    let response = match forward(&layer, &parts, body).await {
        Ok(response) => response,
        Err(error) => {
            return (
                StatusCode::BAD_GATEWAY,
                format!("emulator unreachable: {error}"),
            )
                .into_response();
        }
    };
    let response = match meter {
        Some(meter) if response.status().is_success() => {
            let after = images(&layer, &parts, &touches).await;
            let unnarrowed = match meter::unnarrowed(&operation, &json) {
                Some(full) => read_again(&layer, &parts, &full).await,
                None => None,
            };
            let (head, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let call = meter::Metered {
                operation: &operation,
                request: &json,
                touches: &touches,
                before: &before,
                after: &after,
                answer: &answer,
                unnarrowed: unnarrowed.as_ref(),
            };
            let bill = meter.charge_call(&role.function, call);
            match meter::consumed_capacity(&operation, &json, &bill) {
                Some(consumed) => {
                    let mut answer = answer;
                    answer["ConsumedCapacity"] = consumed;
                    let mut head = head;
                    // The body changed: its length and checksum are the new one's.
                    head.headers.remove(header::CONTENT_LENGTH);
                    head.headers.remove("x-amz-crc32");
                    Response::from_parts(head, Body::from(answer.to_string()))
                }
                None => Response::from_parts(head, Body::from(bytes)),
            }
        }
        _ => response,
    };
    let response = match layer.meter.as_ref() {
        Some(meter) if service != Service::DynamoDb && response.status().is_success() => {
            let (head, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let name = format!("{service:?}");
            meter.count_request(
                &role.function,
                &name,
                &operation,
                json.to_string().len(),
                &answer,
            );
            Response::from_parts(head, Body::from(bytes))
        }
        _ => response,
    };
    if matches!(call.writes, Writes::Transaction(_)) {
        // The items stay in flight for the transaction's duration, as in DynamoDB.
        tokio::time::sleep(layer.strictness.in_flight.saturating_sub(started.elapsed())).await;
    }
    if service == Service::Sqs && operation == "ReceiveMessage" {
        return redeliver_some(&layer, &parts.headers, &json, response).await;
    }
    if service == Service::Sqs && response.status().is_success() && settles(&operation) {
        layer.fair.settled(&json).await;
    }
    response
}

/// Whether an SQS operation ends a message's time in flight (deleted, or released).
fn settles(operation: &str) -> bool {
    matches!(
        operation,
        "DeleteMessage"
            | "DeleteMessageBatch"
            | "ChangeMessageVisibility"
            | "ChangeMessageVisibilityBatch"
    )
}

fn inject_fault(layer: &Layer, service: Service) -> Option<Response> {
    let faults = layer.strictness.faults;
    if service == Service::DynamoDb && Faults::strikes(faults.throttle) {
        layer.tally.throttled.fetch_add(1, Ordering::Relaxed);
        return Some(refuse(
            service,
            StatusCode::BAD_REQUEST,
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded (injected)",
            Value::Null,
        ));
    }
    if service != Service::Kms && Faults::strikes(faults.server_error) {
        layer.tally.server_errors.fetch_add(1, Ordering::Relaxed);
        let code = if service == Service::DynamoDb {
            "InternalServerError"
        } else {
            "InternalError"
        };
        return Some(refuse(
            service,
            StatusCode::INTERNAL_SERVER_ERROR,
            code,
            "Internal server error (injected)",
            Value::Null,
        ));
    }
    None
}

/// DynamoDB's answer to a transaction that overlaps one in flight.
fn cancelled(busy: &[bool]) -> Response {
    let reasons: Vec<Value> = busy
        .iter()
        .map(|b| {
            if *b {
                json!({ "Code": "TransactionConflict", "Message": "Transaction is ongoing for the item" })
            } else {
                json!({ "Code": "None" })
            }
        })
        .collect();
    let codes: Vec<&str> = busy
        .iter()
        .map(|b| if *b { "TransactionConflict" } else { "None" })
        .collect();
    refuse(
        Service::DynamoDb,
        StatusCode::BAD_REQUEST,
        "TransactionCanceledException",
        &format!(
            "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
            codes.join(", ")
        ),
        json!({ "CancellationReasons": reasons }),
    )
}

/// The items `touches` names as the emulator holds them now (the meter's images): one
/// strongly consistent read each, with the call's own credentials.
async fn images(
    layer: &Layer,
    parts: &axum::http::request::Parts,
    touches: &[meter::Touch],
) -> Vec<Option<capacity::Item>> {
    let mut images = Vec::with_capacity(touches.len());
    for touch in touches {
        let mut read = parts.clone();
        read.headers.insert(
            "x-amz-target",
            HeaderValue::from_static("DynamoDB_20120810.GetItem"),
        );
        let body = meter::get_item(&touch.table, &touch.key).to_string();
        let item = match forward(layer, &read, Bytes::from(body)).await {
            Ok(response) => {
                let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                    .await
                    .unwrap_or_default();
                serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .and_then(|answer| answer["Item"].as_object().cloned())
            }
            Err(_) => None,
        };
        images.push(item);
    }
    images
}

/// The answer to `request` (a read of the same operation as `parts`), for the meter.
async fn read_again(
    layer: &Layer,
    parts: &axum::http::request::Parts,
    request: &Value,
) -> Option<Value> {
    let response = forward(layer, parts, Bytes::from(request.to_string()))
        .await
        .ok()?;
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

async fn forward(
    layer: &Layer,
    parts: &axum::http::request::Parts,
    body: Bytes,
) -> Result<Response, reqwest::Error> {
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut request = layer
        .client
        .request(parts.method.clone(), format!("{}{path}", layer.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if name != header::HOST && name != header::CONTENT_LENGTH && name != header::CONNECTION {
            request = request.header(name, value);
        }
    }
    let upstream = request.send().await?;
    let status = upstream.status();
    let headers = upstream.headers().clone();
    let bytes = upstream.bytes().await?;
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    // A HEAD's body is empty; its length is the object's (S3).
    let head = parts.method == axum::http::Method::HEAD;
    for (name, value) in &headers {
        if (name != header::CONTENT_LENGTH || head)
            && name != header::TRANSFER_ENCODING
            && name != header::CONNECTION
        {
            response.headers_mut().append(name, value.clone());
        }
    }
    Ok(response)
}

/// The redelivery fault: some received messages are made visible again at once, so
/// another consumer receives them while this one works on them.
async fn redeliver_some(
    layer: &Layer,
    headers: &HeaderMap,
    request: &Value,
    response: Response,
) -> Response {
    let rate = layer.strictness.faults.redelivery;
    if rate <= 0.0 || !response.status().is_success() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024 * 1024).await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let received: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let queue_url = request.get("QueueUrl").cloned().unwrap_or(Value::Null);
    for message in received
        .get("Messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if !Faults::strikes(rate) {
            continue;
        }
        let mut visible = layer
            .client
            .post(format!("{}/", layer.upstream))
            .header("x-amz-target", "AmazonSQS.ChangeMessageVisibility")
            .header(header::CONTENT_TYPE, "application/x-amz-json-1.0")
            .body(
                json!({
                    "QueueUrl": queue_url,
                    "ReceiptHandle": message.get("ReceiptHandle"),
                    "VisibilityTimeout": 0
                })
                .to_string(),
            );
        if let Some(authorization) = headers.get(header::AUTHORIZATION) {
            visible = visible.header(header::AUTHORIZATION, authorization);
        }
        if visible.send().await.is_ok_and(|r| r.status().is_success()) {
            layer.tally.redelivered.fetch_add(1, Ordering::Relaxed);
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> calls::ItemKey {
        let keys = KeySchemas::from([("t".to_string(), vec!["id".to_string()])]);
        let body = json!({ "TableName": "t", "Key": { "id": { "S": n.to_string() } } });
        match Call::read(Service::DynamoDb, "DeleteItem", &body, &keys)
            .unwrap()
            .writes
        {
            Writes::Single(item) => item,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn overlapping_transactions_conflict_and_single_writes_wait_only_for_transactions() {
        let in_flight = Arc::new(InFlight::default());
        let first = in_flight.hold_transaction(&[key(1), key(2)]).unwrap();
        assert_eq!(
            in_flight.hold_transaction(&[key(3), key(2)]).err(),
            Some(vec![false, true])
        );
        assert!(
            in_flight.hold_single(&key(1)).is_none(),
            "a write to an item in a transaction"
        );
        let single = in_flight.hold_single(&key(3)).unwrap();
        assert!(
            in_flight.hold_single(&key(3)).is_some(),
            "single writes serialise, never conflict"
        );
        assert!(
            in_flight.hold_transaction(&[key(3)]).is_err(),
            "a transaction meets a write in progress"
        );
        drop(first);
        drop(single);
        assert!(
            in_flight
                .hold_transaction(&[key(1), key(2), key(3)])
                .is_ok()
        );
        assert!(
            in_flight.lock().is_empty(),
            "released holds leave nothing behind"
        );
    }

    #[test]
    fn fault_rates_are_read_and_checked() {
        assert_eq!(Faults::parse("").unwrap(), Faults::default());
        assert_eq!(Faults::parse("off").unwrap(), Faults::default());
        let faults = Faults::parse("throttle=0.05, error=0.02,redelivery=1").unwrap();
        assert_eq!(
            (faults.throttle, faults.server_error, faults.redelivery),
            (0.05, 0.02, 1.0)
        );
        assert!(Faults::parse("throttle=2").is_err());
        assert!(Faults::parse("latency=0.1").is_err());
    }
}
