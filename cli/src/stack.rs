//! The local stack: provision what template.yaml declares in the emulator, resolve each
//! function's environment against it, and serve every function's routes on one port.
//! The handlers are the deployed ones; only the AWS endpoint differs. Each function
//! reaches AWS through the strict layer with credentials naming it, so it may do exactly
//! what its role in template.yaml allows, under DynamoDB's conflicts (and, on request,
//! faults).

use crate::{
    BoxError, accounts,
    provision::{self, Provisioned},
    strict::{LOCAL_SECRET, StrictLayer, Strictness, meter::Meter},
    template::Template,
};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use axum::Router;
use shared::{AppState, Config, Services, secrets::ApiKeySecret};
use std::{
    collections::{BTreeMap, HashSet},
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::{net::TcpListener, task::JoinHandle};

/// The routes of an HTTP function, by the binary template.yaml builds it from.
fn routes_of(binary: &str) -> Option<Router<AppState>> {
    crate::openapi::http_functions()
        .into_iter()
        .find(|(name, _, _)| *name == binary)
        .map(|(_, api, _)| api.router())
}

/// Every HTTP function's routes, each with its own state, in the API's conventions: what
/// API Gateway routes to the functions.
fn app(functions: &BTreeMap<String, LocalFunction>, meter: Option<&Arc<Meter>>) -> Router {
    let mut api = Router::new();
    let mut pages = Router::new();
    for (logical_id, function) in functions {
        let invocation = Invocation::of(logical_id, function, meter);
        let invoked = move |request: axum::extract::Request, next: axum::middleware::Next| {
            let invocation = invocation.clone();
            async move { invocation.run(next.run(request)).await }
        };
        if let Some(routes) = routes_of(&function.binary) {
            let routes = shared::http::authenticated(routes, function.state.clone());
            api = api.merge(routes.layer(axum::middleware::from_fn(invoked.clone())));
        }
        let state = function.state.clone();
        let own_pages = match function.binary.as_str() {
            "payments" => payments::pages(state),
            "products" => products::pages(state),
            "portal" => portal::pages(state),
            _ => continue,
        };
        pages = pages.merge(own_pages.layer(axum::middleware::from_fn(invoked)));
    }
    shared::http::conventions(api).merge(pages)
}

/// One Lambda invocation of a function, as the local stack tells the meter of it
/// (nothing without a meter): its billed duration, and a span like the Lambda
/// runtime's (a request id and a trace id on every log line), by which the meter
/// tells whose log lines are whose.
#[derive(Clone)]
struct Invocation {
    meter: Option<Arc<Meter>>,
    function: String,
    memory_mb: u32,
}

impl Invocation {
    fn of(logical_id: &str, function: &LocalFunction, meter: Option<&Arc<Meter>>) -> Self {
        Invocation {
            meter: meter.cloned(),
            function: logical_id.to_string(),
            memory_mb: function.memory_mb,
        }
    }

    async fn run<T>(&self, work: impl std::future::Future<Output = T>) -> T {
        use tracing::Instrument;
        let Some(meter) = &self.meter else {
            return work.await;
        };
        let hex = |n: u128, digits: usize| format!("{n:032x}")[32 - digits..].to_string();
        let (id, trace): (u128, u128) = (rand::random(), rand::random());
        let request_id = format!(
            "{}-{}-{}-{}-{}",
            hex(id >> 96, 8),
            hex(id >> 80, 4),
            hex(id >> 64, 4),
            hex(id >> 48, 4),
            hex(id, 12)
        );
        let trace_id = format!(
            "Root=1-{}-{};Parent={};Sampled=1",
            hex(trace >> 96, 8),
            hex(trace, 24),
            hex(id, 16)
        );
        let span = tracing::info_span!("Lambda runtime invoke", requestId = %request_id, xrayTraceId = %trace_id);
        meter.invoking(&self.function, &request_id);
        let started = Instant::now();
        let output = work.instrument(span).await;
        meter.invoked(
            &self.function,
            self.memory_mb,
            &request_id,
            started.elapsed(),
        );
        output
    }
}

/// A function of the template, running in this process.
#[derive(Clone)]
pub struct LocalFunction {
    pub binary: String,
    pub state: AppState,
    /// Its resolved environment, as Lambda would set it.
    pub environment: BTreeMap<String, String>,
    /// URLs of the queues that invoke it.
    pub queues: Vec<String>,
    /// What polls those queues for it (Lambda's event source mapping, with its role):
    /// a client of its own, so its calls are not counted as the function's.
    pub event_source: aws_sdk_sqs::Client,
    pub memory_mb: u32,
    pub timeout: Duration,
}

/// The caller name the local event source's calls are counted under.
pub const EVENT_SOURCE: &str = "EventSourceMapping";

/// Feeds a queue to the dispatcher as Lambda's SQS event source would: batches of up
/// to 10, and only the messages not reported as failed are deleted.
async fn poll(
    state: AppState,
    invocation: Invocation,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    visibility_timeout: Duration,
    failed_messages: Arc<AtomicU64>,
) {
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .wait_time_seconds(1)
            .visibility_timeout(visibility_timeout.as_secs().max(1) as i32)
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(error) => {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(error), "receiving from {queue_url}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let mut batch = SqsEvent::default();
        for message in &messages {
            let mut record = SqsMessage::default();
            record.message_id = message.message_id.clone();
            record.receipt_handle = message.receipt_handle.clone();
            record.body = message.body.clone();
            // What Lambda's event source always passes: the dispatcher tells a
            // redelivery by it.
            if let Some(attributes) = &message.attributes {
                record.attributes = attributes
                    .iter()
                    .map(|(name, value)| (name.as_str().to_string(), value.clone()))
                    .collect();
            }
            batch.records.push(record);
        }
        let response = invocation.run(dispatcher::handle(&state, batch)).await;
        let failed: HashSet<String> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        failed_messages.fetch_add(failed.len() as u64, Ordering::Relaxed);
        let done: Vec<_> = messages
            .into_iter()
            .filter(|m| !failed.contains(m.message_id().unwrap_or_default()))
            .filter_map(|m| {
                aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(m.message_id?)
                    .receipt_handle(m.receipt_handle?)
                    .build()
                    .ok()
            })
            .collect();
        if !done.is_empty() {
            let deleted = sqs
                .delete_message_batch()
                .queue_url(&queue_url)
                .set_entries(Some(done))
                .send()
                .await;
            if let Err(error) = deleted {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(error), "deleting from {queue_url}");
            }
        }
    }
}

/// Runs the scheduler every `interval`, as the EventBridge schedule would.
async fn schedule(state: AppState, invocation: Invocation, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(error) = invocation.run(scheduler::run(&state)).await {
            tracing::warn!(%error, "scheduler run failed");
        }
    }
}

/// The demo account to make sure of at start.
#[derive(Clone, Debug)]
pub struct Demo {
    pub email: String,
    /// `PUSHGUARD_DEMO_API_KEY`: use exactly this test key.
    pub key: Option<String>,
}

#[derive(Clone, Debug)]
pub struct StackOptions {
    /// The emulator's URL (moto), e.g. `http://127.0.0.1:4566`.
    pub aws_endpoint: String,
    /// Prefix of every table and queue name, so several stacks share one emulator.
    pub prefix: String,
    pub listen: SocketAddr,
    pub template_source: String,
    /// Settings that replace the template's defaults (never resource names).
    pub overrides: BTreeMap<String, String>,
    pub demo: Option<Demo>,
    /// How often the scheduler runs (every minute in AWS).
    pub scheduler_interval: Duration,
    /// Concurrent pollers per queue (Lambda runs as many invocations as the load needs).
    pub pollers: usize,
    /// Counts every AWS call the functions make (benchmarks).
    pub call_counter: Option<std::sync::Arc<shared::aws::CallCounter>>,
    /// How strict the layer between the functions and the emulator is.
    pub strictness: Strictness,
    /// Run the event sources: poll the queues for the dispatcher, run the scheduler (off
    /// for `pushguard invoke`, which hands one event to one function).
    pub event_sources: bool,
    /// How long a message the local event source received stays invisible (the queue's
    /// own timeout in AWS; shorter locally so a crashed batch comes back soon).
    pub visibility_timeout: Duration,
    /// The runtime the functions run on (the API server, the pollers, the scheduler);
    /// the current one if `None`. The strict layer stays on the current one, so a
    /// benchmark can tell the functions' CPU time from the emulator's.
    pub runtime: Option<tokio::runtime::Handle>,
}

/// A running local stack. Dropping it stops the server, the pollers and the scheduler.
pub struct Stack {
    pub addr: SocketAddr,
    /// The operator's view: straight to the emulator, every permission (provisioning,
    /// accounts, and what tests set up and check). No function runs with it.
    pub state: AppState,
    /// Every function of the template by logical id, each with its own role.
    pub functions: BTreeMap<String, LocalFunction>,
    pub provisioned: Provisioned,
    /// Every function's environment merged (what `pushguard serve` prints and tests read).
    pub environment: BTreeMap<String, String>,
    pub demo_key: Option<ApiKeySecret>,
    pub strict: StrictLayer,
    /// Messages the dispatcher failed back to their queue (to be received again).
    pub failed_messages: Arc<AtomicU64>,
    tasks: Vec<JoinHandle<()>>,
}

impl Stack {
    pub async fn start(options: StackOptions) -> Result<Stack, BoxError> {
        let template = Template::parse(&options.template_source)?;
        let sdk = shared::aws::for_emulator(&options.aws_endpoint).await;
        let provisioned = provision::provision(&template, &options.prefix, &sdk).await?;
        let mut overrides = options.overrides.clone();
        // Locally, webhooks go to receivers on this machine.
        overrides
            .entry("ALLOW_PRIVATE_TARGETS".into())
            .or_insert_with(|| "true".into());
        let environment = provision::environment(&template, &provisioned, &overrides)?;
        let config = Config::from_lookup(|name| environment.get(name).cloned())?;
        let state = Services::new(config, &sdk);
        let strict = StrictLayer::start(
            &options.aws_endpoint,
            &template,
            &provisioned,
            options.strictness,
        )
        .await?;
        let mut functions = BTreeMap::new();
        for function in template.functions()? {
            let environment =
                provision::resolve(&template, function.environment, &provisioned, &overrides)?;
            let config = Config::from_lookup(|name| environment.get(name).cloned())
                .map_err(|e| format!("{}: {e}", function.logical_id))?;
            let sdk =
                shared::aws::for_local_function(&strict.url, &function.logical_id, LOCAL_SECRET)
                    .await;
            let queues = function
                .sqs_queues
                .iter()
                .map(|queue| {
                    provisioned
                        .queues
                        .get(queue)
                        .map(|(url, _)| url.clone())
                        .ok_or_else(|| {
                            format!("{}: queue {queue} is not provisioned", function.logical_id)
                        })
                })
                .collect::<Result<_, _>>()?;
            let counter = options.call_counter.as_ref();
            let mut event_source = aws_sdk_sqs::config::Builder::from(&sdk);
            if let Some(counter) = counter {
                event_source = event_source.interceptor(counter.interceptor(EVENT_SOURCE));
            }
            let state = Services::counted(
                config,
                &sdk,
                counter.map(|counter| (counter, function.logical_id.as_str())),
            );
            functions.insert(
                function.logical_id,
                LocalFunction {
                    binary: function.binary,
                    state,
                    environment,
                    queues,
                    event_source: aws_sdk_sqs::Client::from_conf(event_source.build()),
                    memory_mb: function.memory_mb,
                    timeout: Duration::from_secs(function.timeout_seconds),
                },
            );
        }
        let demo_key = match &options.demo {
            Some(demo) => Some(
                accounts::ensure_demo(&state.db, &state.keyring, &demo.email, demo.key.as_deref())
                    .await?,
            ),
            None => None,
        };
        // Bound here for its address, registered with the runtime that serves it.
        let listener = std::net::TcpListener::bind(options.listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let router = app(&functions, strict.meter.as_ref());
        let runtime = options
            .runtime
            .clone()
            .unwrap_or_else(tokio::runtime::Handle::current);
        let mut tasks = vec![runtime.spawn(async move {
            let served = match TcpListener::from_std(listener) {
                Ok(listener) => {
                    // The peer's address is the client the public routes' limit counts.
                    let service =
                        router.into_make_service_with_connect_info::<std::net::SocketAddr>();
                    axum::serve(listener, service).await
                }
                Err(error) => Err(error),
            };
            if let Err(error) = served {
                tracing::error!(%error, "local server stopped");
            }
        })];
        let failed_messages = Arc::new(AtomicU64::new(0));
        for (logical_id, function) in functions.iter().filter(|_| options.event_sources) {
            let invocation = Invocation::of(logical_id, function, strict.meter.as_ref());
            match function.binary.as_str() {
                "dispatcher" => {
                    for queue in &function.queues {
                        for _ in 0..options.pollers.max(1) {
                            tasks.push(runtime.spawn(poll(
                                function.state.clone(),
                                invocation.clone(),
                                function.event_source.clone(),
                                queue.clone(),
                                options.visibility_timeout,
                                failed_messages.clone(),
                            )));
                        }
                    }
                }
                "scheduler" => tasks.push(runtime.spawn(schedule(
                    function.state.clone(),
                    invocation,
                    options.scheduler_interval,
                ))),
                binary if routes_of(binary).is_some() => {}
                other => {
                    return Err(
                        format!("the function built from {other} cannot run locally").into(),
                    );
                }
            }
        }
        Ok(Stack {
            addr,
            state,
            functions,
            provisioned,
            environment,
            demo_key,
            strict,
            failed_messages,
            tasks,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The function whose logical id (`AccountFunction`) or binary (`account`) is `name`.
    pub fn find_function(&self, name: &str) -> Option<(&str, &LocalFunction)> {
        self.functions
            .iter()
            .find(|(id, f)| *id == name || f.binary == name)
            .map(|(id, f)| (id.as_str(), f))
    }

    /// The state a function runs with (its role, its environment).
    pub fn function(&self, logical_id: &str) -> AppState {
        self.functions
            .get(logical_id)
            .unwrap_or_else(|| panic!("template.yaml has no function {logical_id}"))
            .state
            .clone()
    }

    /// Messages failed back to their queue so far.
    pub fn failed_messages(&self) -> u64 {
        self.failed_messages.load(Ordering::Relaxed)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
