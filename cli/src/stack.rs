//! The local stack: provision what template.yaml declares in the emulator, resolve the
//! functions' environment against it, and serve every function's routes on one port.
//! The handlers are the deployed ones; only the AWS endpoint differs.

use crate::{
    BoxError, accounts,
    provision::{self, Provisioned},
    template::Template,
};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use axum::Router;
use shared::{AppState, Config, Services, secrets::ApiKeySecret};
use std::{collections::BTreeMap, collections::HashSet, net::SocketAddr, time::Duration};
use tokio::{net::TcpListener, task::JoinHandle};

/// Every function's routes behind the API's conventions, as API Gateway would route them.
pub fn app(state: AppState) -> Router {
    let routes = account::routes()
        .merge(webhook_endpoints::routes())
        .merge(webhook_logs::routes())
        .merge(events::routes())
        .merge(products::routes())
        .merge(categories::routes())
        .merge(orders::routes())
        .merge(payments::routes())
        .merge(blacklists::routes())
        .merge(blacklist_rules::routes())
        .merge(feedback::routes());
    shared::http::api(routes, state.clone()).merge(payments::pages(state))
}

/// Feeds a queue to the dispatcher as Lambda's SQS event source would: batches of up
/// to 10, and only the messages not reported as failed are deleted.
async fn poll(state: AppState, queue_url: String) {
    loop {
        let received = state
            .sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(60)
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
            batch.records.push(record);
        }
        let response = dispatcher::handle(&state, batch).await;
        let failed: HashSet<String> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
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
            let deleted = state
                .sqs
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
async fn schedule(state: AppState, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(error) = scheduler::run(&state).await {
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
    /// Counts every AWS call the stack makes (benchmarks).
    pub call_counter: Option<std::sync::Arc<shared::aws::CallCounter>>,
}

/// A running local stack. Dropping it stops the server.
pub struct Stack {
    pub addr: SocketAddr,
    pub state: AppState,
    pub provisioned: Provisioned,
    pub environment: BTreeMap<String, String>,
    pub demo_key: Option<ApiKeySecret>,
    tasks: Vec<JoinHandle<()>>,
}

impl Stack {
    pub async fn start(options: StackOptions) -> Result<Stack, BoxError> {
        let template = Template::parse(&options.template_source)?;
        let sdk = shared::aws::for_emulator(&options.aws_endpoint).await;
        let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let provisioned = provision::provision(&template, &options.prefix, &dynamo, &sqs).await?;
        let mut overrides = options.overrides.clone();
        // Locally, webhooks go to receivers on this machine.
        overrides
            .entry("ALLOW_PRIVATE_TARGETS".into())
            .or_insert_with(|| "true".into());
        let environment = provision::environment(&template, &provisioned, &overrides)?;
        let config = Config::from_lookup(|name| environment.get(name).cloned())?;
        let state = Services::counted(config, &sdk, options.call_counter.as_ref());
        let demo_key = match &options.demo {
            Some(demo) => {
                Some(accounts::ensure_demo(&state.db, &demo.email, demo.key.as_deref()).await?)
            }
            None => None,
        };
        let listener = TcpListener::bind(options.listen).await?;
        let addr = listener.local_addr()?;
        let router = app(state.clone());
        let mut tasks = vec![tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "local server stopped");
            }
        })];
        let queues = [
            &state.config.events_queue_url,
            &state.config.deliveries_queue_url,
        ];
        for queue in queues.into_iter().flatten() {
            for _ in 0..options.pollers.max(1) {
                tasks.push(tokio::spawn(poll(state.clone(), queue.clone())));
            }
        }
        tasks.push(tokio::spawn(schedule(
            state.clone(),
            options.scheduler_interval,
        )));
        Ok(Stack {
            addr,
            state,
            provisioned,
            environment,
            demo_key,
            tasks,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
