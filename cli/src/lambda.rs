//! Lambda without Docker: a local Runtime API on loopback, and a function's real binary
//! run against it the way Lambda runs `bootstrap`, with the environment template.yaml
//! gives the function, credentials naming its role, and the strict layer as its AWS.
//! What `pushguard invoke` (`make invoke`) and the smoke tests use.

use crate::{
    BoxError,
    stack::{LocalFunction, Stack},
    strict::LOCAL_SECRET,
};
use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::Value;
use std::{
    collections::HashMap,
    path::{Path as FsPath, PathBuf},
    process::Stdio,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tokio::{
    net::TcpListener,
    process::{Child, Command},
    sync::{Mutex, mpsc, oneshot},
    task::JoinHandle,
};

/// What a function answered to one invocation.
#[derive(Debug)]
pub enum Outcome {
    /// `/invocation/{id}/response`: the handler's result.
    Response(Value),
    /// `/invocation/{id}/error` or `/init/error`: the error the runtime reported.
    Error(Value),
}

struct Invocation {
    event: Value,
    answer: oneshot::Sender<Outcome>,
}

#[derive(Default)]
struct Pending {
    answers: HashMap<String, oneshot::Sender<Outcome>>,
    init_error: Option<Value>,
}

struct Api {
    next: Mutex<mpsc::Receiver<Invocation>>,
    /// When the function first asked for work: the end of its init.
    first_poll: std::sync::OnceLock<std::time::Instant>,
    pending: std::sync::Mutex<Pending>,
    function_arn: String,
    timeout: Duration,
}

/// The Runtime API of one function instance, on a free loopback port.
pub struct RuntimeApi {
    pub address: String,
    invocations: mpsc::Sender<Invocation>,
    api: Arc<Api>,
    task: JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn epoch_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

async fn next(State(api): State<Arc<Api>>) -> Response {
    api.first_poll.get_or_init(std::time::Instant::now);
    let Some(invocation) = api.next.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let id = shared::ids::Id::<shared::ids::kinds::Request>::new().into_string();
    api.pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .answers
        .insert(id.clone(), invocation.answer);
    let deadline = epoch_millis() + api.timeout.as_millis();
    let mut response = (StatusCode::OK, invocation.event.to_string()).into_response();
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("lambda-runtime-aws-request-id", id);
    set("lambda-runtime-deadline-ms", deadline.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        api.function_arn.clone(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
    );
    set("content-type", "application/json".into());
    response
}

fn answer(api: &Api, id: &str, outcome: Outcome) -> StatusCode {
    let sender = api
        .pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .answers
        .remove(id);
    match sender {
        Some(sender) => {
            drop(sender.send(outcome));
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

fn json_or_text(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn respond(State(api): State<Arc<Api>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    answer(&api, &id, Outcome::Response(json_or_text(&body)))
}

async fn fail(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut error = json_or_text(&body);
    if let (Some(kind), Value::Object(map)) = (
        headers.get("lambda-runtime-function-error-type"),
        &mut error,
    ) {
        map.insert(
            "errorType".into(),
            Value::String(kind.to_str().unwrap_or_default().into()),
        );
    }
    answer(&api, &id, Outcome::Error(error))
}

async fn init_error(State(api): State<Arc<Api>>, body: Bytes) -> StatusCode {
    let mut pending = api.pending.lock().unwrap_or_else(|e| e.into_inner());
    pending.init_error = Some(json_or_text(&body));
    for (_, sender) in pending.answers.drain() {
        drop(sender.send(Outcome::Error(json_or_text(&body))));
    }
    StatusCode::ACCEPTED
}

impl RuntimeApi {
    pub async fn start(function: &str, timeout: Duration) -> Result<Self, BoxError> {
        let (invocations, receiver) = mpsc::channel(1);
        let api = Arc::new(Api {
            next: Mutex::new(receiver),
            first_poll: std::sync::OnceLock::new(),
            pending: std::sync::Mutex::default(),
            function_arn: format!(
                "arn:aws:lambda:{}:{}:function:{function}",
                crate::strict::iam::REGION,
                crate::strict::iam::ACCOUNT_ID
            ),
            timeout,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(respond),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(api.clone());
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?.to_string();
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "local Runtime API stopped");
            }
        });
        Ok(RuntimeApi {
            address,
            invocations,
            api,
            task,
        })
    }

    /// Hands `event` to the function and waits for its answer (up to its timeout).
    pub async fn invoke(&self, event: Value) -> Result<Outcome, BoxError> {
        if let Some(error) = self
            .api
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .init_error
            .clone()
        {
            return Ok(Outcome::Error(error));
        }
        let (answer, outcome) = oneshot::channel();
        self.invocations
            .send(Invocation { event, answer })
            .await
            .map_err(|_| "the Runtime API stopped")?;
        match tokio::time::timeout(self.api.timeout, outcome).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(_)) => Err("the function never answered".into()),
            Err(_) => Err(format!(
                "the function did not answer within its timeout ({:?})",
                self.api.timeout
            )
            .into()),
        }
    }
}

/// A function's binary running as a Lambda instance: one process, invoked as often as
/// needed (the first invocation is the cold start). Killed when dropped.
pub struct Instance {
    api: RuntimeApi,
    child: Child,
    spawned: std::time::Instant,
}

impl Drop for Instance {
    fn drop(&mut self) {
        drop(self.child.start_kill());
    }
}

/// Where cargo put the host binaries: `CARGO_TARGET_DIR`, else `target/` of the workspace.
pub fn binaries_dir(profile: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    target.join(profile)
}

impl Instance {
    /// Starts the function `logical_id` of `stack` from its binary in `binaries`, with
    /// the environment Lambda would give it.
    pub async fn start(
        stack: &Stack,
        logical_id: &str,
        binaries: &FsPath,
    ) -> Result<Self, BoxError> {
        let function: &LocalFunction = stack
            .functions
            .get(logical_id)
            .ok_or_else(|| format!("template.yaml has no function {logical_id}"))?;
        let binary = binaries.join(&function.binary);
        if !binary.exists() {
            return Err(format!(
                "{} is not built: run `cargo build --bins` (make test and make invoke do)",
                binary.display()
            )
            .into());
        }
        let api = RuntimeApi::start(logical_id, function.timeout).await?;
        let mut command = Command::new(&binary);
        command
            .env_clear()
            .envs(&function.environment)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", logical_id)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                function.memory_mb.to_string(),
            )
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{logical_id}"),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("_HANDLER", "bootstrap")
            .env("AWS_REGION", crate::strict::iam::REGION)
            .env("AWS_DEFAULT_REGION", crate::strict::iam::REGION)
            .env("AWS_ACCESS_KEY_ID", logical_id)
            .env("AWS_SECRET_ACCESS_KEY", LOCAL_SECRET)
            .env("AWS_ENDPOINT_URL", &stack.strict.url)
            .stdin(Stdio::null())
            // Its logs go to stderr, so what `pushguard invoke` prints stays the response.
            .stdout(std::io::stderr())
            .kill_on_drop(true);
        if let Some(filter) = std::env::var_os("RUST_LOG") {
            command.env("RUST_LOG", filter);
        }
        Self::spawn(api, command, &binary)
    }

    /// Runs any Lambda binary (a hello world, say) against a fresh Runtime API, with
    /// only what the runtime itself needs in its environment.
    pub async fn start_bare(binary: &FsPath) -> Result<Self, BoxError> {
        let api = RuntimeApi::start("Bare", Duration::from_secs(30)).await?;
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "Bare")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true);
        Self::spawn(api, command, binary)
    }

    fn spawn(api: RuntimeApi, mut command: Command, binary: &FsPath) -> Result<Self, BoxError> {
        let spawned = std::time::Instant::now();
        let child = command
            .spawn()
            .map_err(|e| format!("starting {}: {e}", binary.display()))?;
        Ok(Instance {
            api,
            child,
            spawned,
        })
    }

    /// How long the process took from exec to its first poll of the Runtime API (its
    /// init), waiting up to `limit` for it.
    pub async fn init_duration(&self, limit: Duration) -> Option<Duration> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(at) = self.api.api.first_poll.get() {
                return Some(*at - self.spawned);
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }

    /// The process's peak resident memory so far, in KiB (Linux: `VmHWM`).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Invokes the function; an error if it exits instead of answering (as a `main`
    /// that fails at start-up does).
    pub async fn invoke(&mut self, event: Value) -> Result<Outcome, BoxError> {
        tokio::select! {
            outcome = self.api.invoke(event) => outcome,
            status = self.child.wait() => Err(format!(
                "the function exited before answering ({})",
                status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string())
            )
            .into()),
        }
    }
}
