//! The local stack: provision what template.yaml declares in the emulator, resolve the
//! functions' environment against it, and serve every function's routes on one port.
//! The handlers are the deployed ones; only the AWS endpoint differs.

use crate::{
    BoxError, accounts,
    provision::{self, Provisioned},
    template::Template,
};
use axum::Router;
use shared::{AppState, Config, Services, secrets::ApiKeySecret};
use std::{collections::BTreeMap, net::SocketAddr};
use tokio::{net::TcpListener, task::JoinHandle};

/// Every function's routes behind the API's conventions, as API Gateway would route them.
pub fn app(state: AppState) -> Router {
    let routes = account::routes().merge(webhook_endpoints::routes());
    shared::http::api(routes, state)
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
}

/// A running local stack. Dropping it stops the server.
pub struct Stack {
    pub addr: SocketAddr,
    pub state: AppState,
    pub provisioned: Provisioned,
    pub environment: BTreeMap<String, String>,
    pub demo_key: Option<ApiKeySecret>,
    server: JoinHandle<()>,
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
        let state = Services::new(config, &sdk);
        let demo_key = match &options.demo {
            Some(demo) => {
                Some(accounts::ensure_demo(&state.db, &demo.email, demo.key.as_deref()).await?)
            }
            None => None,
        };
        let listener = TcpListener::bind(options.listen).await?;
        let addr = listener.local_addr()?;
        let router = app(state.clone());
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "local server stopped");
            }
        });
        Ok(Stack {
            addr,
            state,
            provisioned,
            environment,
            demo_key,
            server,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.server.abort();
    }
}
