//! Test harness: a real moto server (one per test binary, on a free port), a fresh
//! PushGuard stack per test (its own table and queue names), and an HTTP client, raw
//! (`TestStack::get`, ...) or typed ([`client::Api`]).

pub mod browser;
pub mod client;

use pushguard::{
    accounts,
    stack::{Stack, StackOptions},
    strict::{Faults, Strictness},
    template,
};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use shared::{Mode, Tenant, ids::AccountId};

use std::{
    collections::BTreeMap,
    io::Write,
    net::{SocketAddr, TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    sync::{Mutex, OnceLock},
    time::{Duration, Instant},
};

/// The fault mode the concurrency and fault tests run under: on top of DynamoDB's
/// conflicts, some calls are throttled or fail with a 500, and some received messages
/// are handed to a second consumer.
pub const FAULTS: Faults = Faults {
    throttle: 0.05,
    server_error: 0.03,
    redelivery: 0.1,
};

/// moto's endpoint: `PUSHGUARD_TEST_AWS_ENDPOINT` if set, else a server started here.
pub fn moto_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        std::env::var("PUSHGUARD_TEST_AWS_ENDPOINT").unwrap_or_else(|_| start_moto())
    })
}

/// Keeps the moto supervisor's stdin open for as long as this process lives.
static MOTO: Mutex<Option<Child>> = Mutex::new(None);

fn start_moto() -> String {
    let server = std::env::var("MOTO_SERVER").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/moto-server").to_string()
    });
    assert!(
        std::path::Path::new(&server).exists(),
        "moto_server not found at {server}: run the tests with `make test`, which installs it into .venv/"
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The shell stops moto when our end of its stdin closes, i.e. when this process
    // exits for any reason, so no test run leaves a server behind.
    let script = format!(
        "\"{server}\" -H 127.0.0.1 -p {port} >/dev/null 2>&1 & pid=$!; trap 'kill $pid 2>/dev/null' EXIT; read _ || true"
    );
    let child = Command::new("bash")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .spawn()
        .expect("start moto");
    *MOTO.lock().unwrap() = Some(child);
    let address: SocketAddr = ([127, 0, 0, 1], port).into();
    let started = Instant::now();
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "moto did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    format!("http://127.0.0.1:{port}")
}

/// The CPU time (user and system) of the moto this process started, all its threads,
/// exited ones included (`/proc/<pid>/stat`, in the kernel's usual 100 ticks a second);
/// `None` when the tests use an emulator they did not start.
pub fn emulator_cpu_time() -> Option<Duration> {
    const TICKS_PER_SECOND: u64 = 100;
    let supervisor = MOTO.lock().unwrap().as_ref()?.id();
    // The supervising shell's one child is moto (scripts/moto-server execs Python).
    let children =
        std::fs::read_to_string(format!("/proc/{supervisor}/task/{supervisor}/children")).ok()?;
    let moto = children.split_whitespace().next()?;
    let stat = std::fs::read_to_string(format!("/proc/{moto}/stat")).ok()?;
    // After the command name in parentheses: state, then fields 4.. of proc(5).
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let (utime, stime): (u64, u64) = (fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?);
    Some(Duration::from_millis(
        (utime + stime) * 1000 / TICKS_PER_SECOND,
    ))
}

/// An account made the way operators make them, with both of its first keys.
pub struct TestAccount {
    pub id: AccountId,
    pub email: String,
    pub live_key: String,
    pub test_key: String,
}

impl TestAccount {
    /// The account's data in `mode`, for tests that reach into the store.
    pub fn tenant(&self, mode: Mode) -> Tenant {
        Tenant::new(self.id.clone(), mode)
    }
}

/// A running stack on its own tables, and a client for it.
pub struct TestStack {
    pub stack: Stack,
    pub http: reqwest::Client,
    /// The published Rust client (`clients/rust`), one per key: the typed calls of
    /// `client.rs` go through it.
    clients: std::sync::Mutex<std::collections::HashMap<String, pushguard_client::Client>>,
}

impl TestStack {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// A stack with some settings changed (e.g. `MAX_ENDPOINTS`).
    pub async fn start_with(settings: &[(&str, &str)]) -> Self {
        Self::start_counted(settings, None, 2).await
    }

    /// A stack whose AWS calls are counted, with `pollers` per queue (benchmarks).
    pub async fn start_counted(
        settings: &[(&str, &str)],
        counter: Option<std::sync::Arc<shared::aws::CallCounter>>,
        pollers: usize,
    ) -> Self {
        Self::start_options(settings, |options| {
            options.call_counter = counter;
            options.pollers = pollers;
        })
        .await
    }

    /// A stack whose strict layer also injects `faults` (the fault mode).
    pub async fn start_with_faults(settings: &[(&str, &str)], faults: Faults) -> Self {
        Self::start_options(settings, |options| options.strictness.faults = faults).await
    }

    /// A stack on its own tables and queues, with the options `adjust` changes.
    pub async fn start_options(
        settings: &[(&str, &str)],
        adjust: impl FnOnce(&mut StackOptions),
    ) -> Self {
        let prefix = format!("t{}-", ulid::Ulid::new().to_string().to_lowercase());
        Self::start_on(&prefix, settings, adjust).await
    }

    /// A stack on the tables and queues named with `prefix` (a restart keeps them).
    pub async fn start_on(
        prefix: &str,
        settings: &[(&str, &str)],
        adjust: impl FnOnce(&mut StackOptions),
    ) -> Self {
        shared::telemetry::init_for_tests();
        let overrides: BTreeMap<String, String> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut options = StackOptions {
            aws_endpoint: moto_endpoint().to_string(),
            prefix: prefix.to_string(),
            listen: ([127, 0, 0, 1], 0).into(),
            template_source: template::BUNDLED.to_string(),
            overrides,
            demo: None,
            scheduler_interval: Duration::from_secs(1),
            pollers: 2,
            call_counter: None,
            event_sources: true,
            strictness: Strictness::default(),
            visibility_timeout: Duration::from_secs(60),
            runtime: None,
        };
        adjust(&mut options);
        let stack = Stack::start(options).await.expect("stack starts");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .use_preconfigured_tls(shared::tls::delivery_config())
            .build()
            .unwrap();
        TestStack {
            stack,
            http,
            clients: Default::default(),
        }
    }

    /// A new portal link of `scope` (`read` or `manage`) made with `key`.
    pub async fn portal_link(&self, key: &str, scope: &str) -> String {
        let body = serde_json::json!({ "scope": scope });
        let created = expect(self.post("/portal/sessions", key, body).await, 201).await;
        created["url"].as_str().unwrap().to_string()
    }

    /// A portal link made with `key` whose session ended a second ago (DynamoDB's TTL
    /// would delete it only later): the key still works, the session does not.
    pub async fn expired_portal_link(&self, key: &str) -> String {
        let created = expect(
            self.post(
                "/portal/sessions",
                key,
                serde_json::json!({ "scope": "manage" }),
            )
            .await,
            201,
        )
        .await;
        let url = created["url"].as_str().unwrap().to_string();
        let id = created["id"].as_str().unwrap().parse().unwrap();
        let db = &self.stack.state.db;
        let mut session = shared::store::portal::get(db, &id).await.unwrap().unwrap();
        assert!(
            shared::store::portal::revoke(db, &session.tenant, &id)
                .await
                .unwrap()
        );
        session.expires_at =
            shared::Timestamp::from_millis(shared::Timestamp::now().as_millis() - 1_000);
        shared::store::portal::create(db, &session).await.unwrap();
        url
    }

    pub async fn account(&self, email: &str) -> TestAccount {
        let created =
            accounts::create(&self.stack.state.db, &self.stack.state.keyring, email, None)
                .await
                .expect("account created");
        TestAccount {
            id: created.account.id,
            email: created.account.email,
            live_key: created.live_key.expose().to_string(),
            test_key: created.test_key.expose().to_string(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v2{path}", self.stack.base_url())
    }

    /// Registers the custom event type `name` for the key's tenant; the created type.
    pub async fn register_event_type(&self, key: &str, name: &str, description: &str) -> Value {
        let body = serde_json::json!({ "name": name, "description": description });
        expect(self.post("/event-types", key, body).await, 201).await
    }

    /// A request without credentials.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// A request authenticated with `Authorization: Bearer key`.
    /// The published Rust client with `key`, against this stack.
    pub fn client(&self, key: &str) -> pushguard_client::Client {
        let mut clients = self.clients.lock().unwrap();
        clients
            .entry(key.to_string())
            .or_insert_with(|| {
                let options = pushguard_client::ClientOptions::new(key)
                    .base(format!("{}/api/v2", self.stack.base_url()))
                    .max_retries(0);
                pushguard_client::Client::new(options).expect("a client")
            })
            .clone()
    }

    pub fn request(&self, method: Method, path: &str, key: &str) -> RequestBuilder {
        self.anonymous(method, path).bearer_auth(key)
    }

    pub async fn get(&self, path: &str, key: &str) -> Response {
        self.request(Method::GET, path, key).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> Response {
        self.request(Method::POST, path, key)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn put(&self, path: &str, key: &str, body: Value) -> Response {
        self.request(Method::PUT, path, key)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str, key: &str) -> Response {
        self.request(Method::DELETE, path, key)
            .send()
            .await
            .unwrap()
    }

    /// Sends a request the API must refuse (`body`: `None` sends none) and returns the
    /// error's body, after asserting the status and that the body says why (a
    /// `message`, as every error of the API has).
    pub async fn refuses(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: impl Into<Option<Value>>,
        status: u16,
    ) -> Value {
        let mut request = self.request(method.clone(), path, key);
        if let Some(body) = body.into() {
            request = request.json(&body);
        }
        let body = expect(request.send().await.unwrap(), status).await;
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{method} {path} was refused without a message: {body}"
        );
        body
    }

    /// Every item of the requests table (idempotency records, portal sessions, ...),
    /// for tests that check what is kept there and what is not.
    pub async fn requests_items(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        self.items_of(&self.stack.state.config.tables.requests)
            .await
    }

    /// Every item of the webhook logs table (logs, groups of logs, day counts).
    pub async fn webhook_log_items(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        self.items_of(&self.stack.state.config.tables.webhook_logs)
            .await
    }

    /// Every item of the portal sessions table.
    pub async fn portal_session_items(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        self.items_of(&self.stack.state.config.tables.portal_sessions)
            .await
    }

    async fn items_of(
        &self,
        table: &str,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        self.stack
            .state
            .db
            .client()
            .scan()
            .table_name(table)
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default()
    }

    /// `X-Total-Count` of a list (asserting it answers 200).
    pub async fn total(&self, path: &str, key: &str) -> u64 {
        let response = self.get(path, key).await;
        let count = header(&response, "x-total-count")
            .expect("a paged list has X-Total-Count")
            .parse()
            .unwrap();
        expect(response, 200).await;
        count
    }
}

/// The status and JSON body of a response (Null for an empty body).
pub async fn status_and_json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
    };
    (status, body)
}

/// Asserts the status and returns the JSON body, showing the body when the status differs.
pub async fn expect(response: Response, status: u16) -> Value {
    let (actual, body) = status_and_json(response).await;
    assert_eq!(actual, status, "unexpected status; body: {body}");
    body
}

/// A header of a response, as text.
pub fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

/// What a receiver endpoint path does with a delivery.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// 200 with a small JSON body.
    Accept,
    /// Answer `status` this many times, then accept.
    FailTimes(u32, u16),
    /// Always answer `status` (with `Retry-After` if given).
    Always(u16, Option<u64>),
    /// Wait this long before answering 200.
    Hang(Duration),
    /// 302 to another path of the receiver.
    Redirect,
    /// 200 with a body of this many bytes.
    Huge(usize),
    /// This status with this body (e.g. a dynamic product's licence key).
    Answer(u16, Vec<u8>),
    /// 200 with headers of about this many bytes in all (in 3 KB values).
    HugeHeaders(usize),
    /// 200 at once, then a body of one byte every this long, for a minute.
    Drip(Duration),
    /// Accept at most this many per second (any rolling second); beyond, 429 with
    /// `Retry-After: 1`.
    RateLimited(u32),
    /// Answer `status` to the first this many requests whose body contains the text
    /// (`u32::MAX`: to all of them); accept the others.
    FailWhen(String, u32, u16),
}

/// One request a receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub at: Instant,
    pub path: String,
    pub headers: std::collections::HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct ReceiverState {
    behaviours: std::collections::HashMap<String, Behaviour>,
    answered: std::collections::HashMap<String, u32>,
    received: Vec<Received>,
    /// When each request a `RateLimited` path accepted arrived.
    accepted: std::collections::HashMap<String, Vec<Instant>>,
}

/// A real HTTP server on 127.0.0.1 that records every delivery and answers as told.
#[derive(Clone)]
pub struct Receiver {
    pub base: String,
    state: std::sync::Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    pub async fn start() -> Self {
        use axum::{
            body::Bytes,
            extract::State,
            http::{HeaderMap, StatusCode, Uri},
            response::IntoResponse,
        };
        let state = std::sync::Arc::new(Mutex::new(ReceiverState::default()));
        async fn handle(
            State(state): State<std::sync::Arc<Mutex<ReceiverState>>>,
            uri: Uri,
            headers: HeaderMap,
            body: Bytes,
        ) -> axum::response::Response {
            let path = uri.path().to_string();
            let behaviour = {
                let mut s = state.lock().unwrap();
                s.received.push(Received {
                    at: Instant::now(),
                    path: path.clone(),
                    headers: headers
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.as_str().to_string(),
                                v.to_str().unwrap_or_default().to_string(),
                            )
                        })
                        .collect(),
                    body: body.to_vec(),
                });
                let count = s.answered.entry(path.clone()).or_default();
                *count += 1;
                let count = *count;
                match s
                    .behaviours
                    .get(&path)
                    .cloned()
                    .unwrap_or(Behaviour::Accept)
                {
                    Behaviour::FailTimes(times, status) if count <= times => {
                        Behaviour::Always(status, None)
                    }
                    Behaviour::FailTimes(..) => Behaviour::Accept,
                    Behaviour::FailWhen(text, times, status)
                        if String::from_utf8_lossy(&body).contains(&text) =>
                    {
                        let seen = s.answered.entry(format!("{path}\n{text}")).or_default();
                        *seen += 1;
                        if *seen <= times {
                            Behaviour::Always(status, None)
                        } else {
                            Behaviour::Accept
                        }
                    }
                    Behaviour::FailWhen(..) => Behaviour::Accept,
                    Behaviour::RateLimited(limit) => {
                        let now = Instant::now();
                        let accepted = s.accepted.entry(path.clone()).or_default();
                        let recent = accepted
                            .iter()
                            .rev()
                            .take_while(|at| now.duration_since(**at) < Duration::from_secs(1))
                            .count();
                        if recent < limit as usize {
                            accepted.push(now);
                            Behaviour::Accept
                        } else {
                            Behaviour::Always(429, Some(1))
                        }
                    }
                    other => other,
                }
            };

            match behaviour {
                Behaviour::Accept
                | Behaviour::FailTimes(..)
                | Behaviour::RateLimited(_)
                | Behaviour::FailWhen(..) => {
                    (StatusCode::OK, "{\"received\":true}").into_response()
                }
                Behaviour::Always(status, retry_after) => {
                    let mut response =
                        (StatusCode::from_u16(status).unwrap(), "nope").into_response();
                    if let Some(seconds) = retry_after {
                        response.headers_mut().insert("retry-after", seconds.into());
                    }
                    response
                }
                Behaviour::Hang(wait) => {
                    tokio::time::sleep(wait).await;
                    (StatusCode::OK, "late").into_response()
                }
                Behaviour::Redirect => {
                    (StatusCode::FOUND, [("location", "/redirected")]).into_response()
                }
                Behaviour::Huge(size) => (StatusCode::OK, "x".repeat(size)).into_response(),
                Behaviour::Answer(status, body) => {
                    (StatusCode::from_u16(status).unwrap(), body).into_response()
                }
                Behaviour::Drip(every) => {
                    let drops = futures::stream::unfold(0u32, move |n| async move {
                        (n < 60).then_some(())?;
                        tokio::time::sleep(every).await;
                        Some((
                            Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"x")),
                            n + 1,
                        ))
                    });
                    (StatusCode::OK, axum::body::Body::from_stream(drops)).into_response()
                }
                Behaviour::HugeHeaders(size) => {
                    let mut response = (StatusCode::OK, "ok").into_response();
                    for n in 0..size.div_ceil(3_000) {
                        response.headers_mut().insert(
                            axum::http::HeaderName::from_bytes(format!("x-filler-{n}").as_bytes())
                                .unwrap(),
                            "y".repeat(3_000).parse().unwrap(),
                        );
                    }
                    response
                }
            }
        }
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { base, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn set(&self, path: &str, behaviour: Behaviour) {
        let mut s = self.state.lock().unwrap();
        s.behaviours.insert(path.to_string(), behaviour);
        s.answered.remove(path);
    }

    /// When each request a `RateLimited` `path` accepted arrived.
    pub fn accepted(&self, path: &str) -> Vec<Instant> {
        let s = self.state.lock().unwrap();
        s.accepted.get(path).cloned().unwrap_or_default()
    }

    /// How many requests arrived so far, to any path (cheap to poll).
    pub fn count(&self) -> usize {
        self.state.lock().unwrap().received.len()
    }

    /// Every request so far, to any path.
    pub fn all(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Every request to `path` so far.
    pub fn received(&self, path: &str) -> Vec<Received> {
        self.state
            .lock()
            .unwrap()
            .received
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Waits until `path` has received `count` requests (failing after a generous
    /// bound, which only catches a delivery that never comes).
    pub async fn wait_for(&self, path: &str, count: usize) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let received = self.received(path);
            if received.len() >= count {
                return received;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{path} got {} of {count} deliveries",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A batch of the events queue as Lambda hands it to the dispatcher: a message per
/// event (carrying it), each with how many times SQS has handed it out
/// (`ApproximateReceiveCount`: 1 the first time, more for a redelivery).
pub fn dispatch_batch(
    tenant: &Tenant,
    events: &[(&shared::events::Event, u32)],
) -> aws_lambda_events::event::sqs::SqsEvent {
    let mut batch = aws_lambda_events::event::sqs::SqsEvent::default();
    for (event, receive_count) in events {
        let message = shared::queue::Message::Dispatch {
            tenant: tenant.clone(),
            event_id: event.id.clone(),
            replay: event.replays,
            event: Some(Box::new((*event).clone())),
        };
        let mut record = aws_lambda_events::event::sqs::SqsMessage::default();
        record.message_id = Some(format!("m-{}-{receive_count}", event.id));
        record.body = Some(serde_json::to_string(&message).expect("a message"));
        record.attributes = [(
            "ApproximateReceiveCount".to_string(),
            receive_count.to_string(),
        )]
        .into();
        batch.records.push(record);
    }
    batch
}

/// Polls `check` until it returns `Some`, for state that settles asynchronously.
pub async fn eventually<T, F: Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The seed's check, computed by Python's hmac module (not our code).
pub fn python_hmac_sha512(secret: &str, body: &[u8]) -> String {
    let mut child = Command::new("python3")
        .args(["-c", "import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha512).hexdigest())", secret])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().unwrap().write_all(body).unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// The seed's own check, run in Ruby with ActiveSupport (Debian's `ruby` and
/// `ruby-activesupport`, which `make test` installs): HMAC-SHA512 of the parsed body
/// written again with `to_json`.
pub fn ruby_seed_signature(secret: &str, body: &[u8]) -> String {
    let script = "require 'json'; require 'openssl'; require 'active_support'; \
                  require 'active_support/json'; payload = JSON.parse(STDIN.read); \
                  print OpenSSL::HMAC.hexdigest(OpenSSL::Digest.new('sha512'), ARGV[0], payload.to_json)";
    let mut child = Command::new("ruby")
        .args(["-e", script, secret])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("ruby runs: make test installs Debian's ruby and ruby-activesupport");
    child.stdin.take().unwrap().write_all(body).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "ruby with ActiveSupport failed: {output:?}"
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// Whether any `v1a` entry of the delivery's `webhook-signature` verifies under any of
/// `public_keys` (`whpk_...`), checked by Python's `cryptography` package (the ed25519
/// of OpenSSL, not PushGuard's), from the `.venv/` that moto's server runs in.
pub fn python_ed25519_verifies(public_keys: &[&str], delivery: &Received) -> bool {
    let script = r#"
import base64, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.exceptions import InvalidSignature
keys, headers = json.loads(sys.argv[1]), json.loads(sys.argv[2])
body = sys.stdin.buffer.read()
signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
def verifies(key, signature):
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(key.removeprefix("whpk_"))).verify(signature, signed)
        return True
    except InvalidSignature:
        return False
entries = [e.split(",", 1)[1] for e in headers["webhook-signature"].split() if e.startswith("v1a,")]
print(any(verifies(k, base64.b64decode(e)) for k in keys for e in entries))
"#;
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/python");
    let headers = serde_json::json!({
        "webhook-id": delivery.header("webhook-id"),
        "webhook-timestamp": delivery.header("webhook-timestamp"),
        "webhook-signature": delivery.header("webhook-signature"),
    });
    let mut child = Command::new(python)
        .args([
            "-c",
            script,
            &serde_json::json!(public_keys).to_string(),
            &headers.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect(".venv/bin/python runs (make test creates it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&delivery.body)
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the Python check failed: {output:?}"
    );
    match String::from_utf8_lossy(&output.stdout).trim() {
        "True" => true,
        "False" => false,
        other => panic!("the Python check printed {other:?}"),
    }
}

/// Text as it reads in HTML that `shared::html` escaped.
pub fn unescape_html(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Verifies the Standard Webhooks headers with the `standardwebhooks` crate.
pub fn verify_standard(secret: &str, delivery: &Received) -> Result<(), String> {
    let mut headers = http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        headers.insert(name, delivery.header(name).parse().unwrap());
    }
    standardwebhooks::Webhook::new(secret)
        .map_err(|e| format!("{e:?}"))?
        .verify(&delivery.body, &headers)
        .map_err(|e| format!("{e:?}"))
}
pub use pushguard::strict::Tally;
