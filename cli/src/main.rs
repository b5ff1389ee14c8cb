//! `pushguard`: serve the stack locally, provision resources, manage accounts.

use clap::{Args, Parser, Subcommand};
use pushguard::{
    BoxError, accounts,
    lambda::{Instance, Outcome},
    provision::{self, physical_name},
    stack::{Demo, Stack, StackOptions},
    strict::{Faults, Strictness},
    template::{self, Template},
};
use shared::{config::Tables, store::Db};
use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf};

#[derive(Parser)]
#[command(
    name = "pushguard",
    version,
    about = "PushGuard: serve locally, provision, manage accounts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole stack in one process against an AWS emulator (moto).
    Serve(ServeArgs),
    /// Run one function's real binary on one Lambda event, as Lambda runs it (a local
    /// Runtime API), against the local stack: `sam local invoke` without Docker.
    Invoke(InvokeArgs),
    /// Create the tables and queues of template.yaml in an AWS emulator.
    Provision(LocalArgs),
    /// Operator tasks on accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Print the OpenAPI 3.1 document (what openapi.json holds).
    Openapi,
    /// Write the client libraries' operation tables from the OpenAPI document.
    Clients {
        /// The repository's root, where clients/ is.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
}

#[derive(Args)]
struct LocalArgs {
    /// The emulator's endpoint.
    #[arg(
        long,
        env = "AWS_ENDPOINT_URL",
        default_value = "http://127.0.0.1:4566"
    )]
    aws_endpoint: String,
    /// Prefix of every table and queue name.
    #[arg(long, env = "PUSHGUARD_PREFIX", default_value = "pushguard-local-")]
    prefix: String,
    /// A template other than the one built into this binary.
    #[arg(long)]
    template: Option<PathBuf>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    local: LocalArgs,
    #[arg(long, env = "PORT", default_value_t = 3000)]
    port: u16,
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Email of the demo account created at start.
    #[arg(long, default_value = "demo@pushguard.local")]
    demo_email: String,
    /// Use exactly this test key for the demo account.
    #[arg(long, env = "PUSHGUARD_DEMO_API_KEY", hide_env_values = true)]
    demo_api_key: Option<String>,
    /// Seconds between scheduler runs (every minute in AWS).
    #[arg(
        long,
        env = "PUSHGUARD_SCHEDULER_INTERVAL_SECONDS",
        default_value_t = 60
    )]
    scheduler_interval: u64,
    /// Milliseconds a DynamoDB transaction's items stay in flight (overlapping writes conflict).
    #[arg(long, env = "PUSHGUARD_TRANSACTION_MS", default_value_t = 20)]
    transaction_ms: u64,
    /// The fault mode: `throttle=R,error=R,redelivery=R` with rates from 0 to 1 (e.g.
    /// `throttle=0.05,error=0.02,redelivery=0.05`); off by default.
    #[arg(long, env = "PUSHGUARD_FAULTS", default_value = "off", value_parser = Faults::parse)]
    faults: Faults,
}

#[derive(Args)]
struct InvokeArgs {
    #[command(flatten)]
    local: LocalArgs,
    /// The function: its logical id (`AccountFunction`) or its binary (`account`).
    #[arg(long)]
    function: String,
    /// The event file, e.g. events/account-show.json (`-`: standard input).
    #[arg(long)]
    event: PathBuf,
    /// Where the host binaries are (`cargo build --bins` puts them in target/debug).
    #[arg(long, default_value = "target/debug")]
    binaries: PathBuf,
    /// The test key the event authenticates with; the demo account gets it.
    #[arg(
        long,
        env = "PUSHGUARD_DEMO_API_KEY",
        hide_env_values = true,
        default_value = "pg_test_SampleEventsKey0000000000000"
    )]
    api_key: String,
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account and print its first live and test keys (shown once).
    Create {
        #[arg(long)]
        email: String,
        /// Use an emulator at this URL instead of AWS.
        #[arg(long)]
        aws_endpoint: Option<String>,
        /// Tables named `{prefix}AccountsTable`, ... (as `provision` names them), unless
        /// ACCOUNTS_TABLE and API_KEYS_TABLE are set (the stack's outputs).
        #[arg(long, env = "PUSHGUARD_PREFIX", default_value = "pushguard-local-")]
        prefix: String,
    },
    /// Print a new live and test key of an existing account (shown once): for the owner
    /// of a child account, which its parent makes with none.
    Keys {
        #[arg(long)]
        account: String,
        #[arg(long)]
        aws_endpoint: Option<String>,
        #[arg(long, env = "PUSHGUARD_PREFIX", default_value = "pushguard-local-")]
        prefix: String,
    },
}

fn template_source(path: &Option<PathBuf>) -> Result<String, BoxError> {
    match path {
        Some(path) => {
            Ok(std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => Ok(template::BUNDLED.to_string()),
    }
}

/// Settings the developer set in the environment override the template's defaults: those
/// the template sets, and those the configuration reads with a default of its own.
fn overrides_from_env(template: &Template) -> Result<BTreeMap<String, String>, BoxError> {
    overrides(template, |name| std::env::var(name).ok())
}

fn overrides(
    template: &Template,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, BoxError> {
    Ok(template
        .environment()?
        .into_keys()
        .chain(shared::config::Config::settings())
        .filter_map(|name| lookup(&name).map(|value| (name, value)))
        .collect())
}

#[tokio::main]
async fn main() {
    shared::telemetry::init();
    if let Err(error) = run(Cli::parse()).await {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), BoxError> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Invoke(args) => invoke(args).await,
        Command::Openapi => {
            print!("{}", pushguard::openapi::json());
            Ok(())
        }
        Command::Clients { root } => {
            for (path, text) in pushguard::clients::files(&pushguard::clients::document()) {
                let path = root.join(path);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(&path, text)?;
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        Command::Provision(args) => {
            let template = Template::parse(&template_source(&args.template)?)?;
            let sdk = shared::aws::for_emulator(&args.aws_endpoint).await;
            let provisioned = provision::provision(&template, &args.prefix, &sdk).await?;
            for (logical, name) in &provisioned.tables {
                println!("table {logical}: {name}");
            }
            for (logical, (url, _)) in &provisioned.queues {
                println!("queue {logical}: {url}");
            }
            for (logical, (key_id, _)) in &provisioned.keys {
                println!("key {logical}: {key_id}");
            }
            for (logical, name) in &provisioned.buckets {
                println!("bucket {logical}: {name}");
            }
            Ok(())
        }
        Command::Account(AccountCommand::Create {
            email,
            aws_endpoint,
            prefix,
        }) => {
            let (db, keyring) = operator_store(aws_endpoint.as_deref(), &prefix).await;
            let created = accounts::create(&db, &keyring, &email, None)
                .await
                .map_err(operator_error)?;
            println!("account:  {}", created.account.id);
            println!("email:    {}", created.account.email);
            println!("live key: {}", created.live_key.expose());
            println!("test key: {}", created.test_key.expose());
            println!("These keys are shown once; store them now.");
            Ok(())
        }
        Command::Account(AccountCommand::Keys {
            account,
            aws_endpoint,
            prefix,
        }) => {
            let (db, _) = operator_store(aws_endpoint.as_deref(), &prefix).await;
            let (live, test) = accounts::new_keys(&db, &account)
                .await
                .map_err(operator_error)?;
            println!("account:  {account}");
            println!("live key: {}", live.expose());
            println!("test key: {}", test.expose());
            println!("These keys are shown once; store them now.");
            Ok(())
        }
    }
}

fn operator_error(error: shared::ApiError) -> String {
    match error {
        shared::ApiError::Validation(messages) => messages.join("; "),
        other => other.to_string(),
    }
}

/// The tables and keyring an operator command works on: AWS's (the stack's outputs in
/// the environment) or, with `aws_endpoint`, an emulator's under `prefix`.
async fn operator_store(
    aws_endpoint: Option<&str>,
    prefix: &str,
) -> (Db, shared::keyring::Keyring) {
    let sdk = match aws_endpoint {
        Some(endpoint) => shared::aws::for_emulator(endpoint).await,
        None => shared::aws::from_env().await,
    };
    let table = |variable: &str, logical: &str| {
        std::env::var(variable).unwrap_or_else(|_| physical_name(prefix, logical))
    };
    let tables = Tables {
        accounts: table("ACCOUNTS_TABLE", "AccountsTable"),
        api_keys: table("API_KEYS_TABLE", "ApiKeysTable"),
        endpoints: table("ENDPOINTS_TABLE", "EndpointsTable"),
        requests: table("REQUESTS_TABLE", "RequestsTable"),
        portal_sessions: table("PORTAL_SESSIONS_TABLE", "PortalSessionsTable"),
        events: table("EVENTS_TABLE", "EventsTable"),
        webhook_logs: table("WEBHOOK_LOGS_TABLE", "WebhookLogsTable"),
        products: table("PRODUCTS_TABLE", "ProductsTable"),
        categories: table("CATEGORIES_TABLE", "CategoriesTable"),
        orders: table("ORDERS_TABLE", "OrdersTable"),
        blacklists: table("BLACKLISTS_TABLE", "BlacklistsTable"),
        blacklist_rules: table("BLACKLIST_RULES_TABLE", "BlacklistRulesTable"),
        feedback: table("FEEDBACK_TABLE", "FeedbackTable"),
        queries: table("QUERIES_TABLE", "QueriesTable"),
    };
    let db = Db::new(aws_sdk_dynamodb::Client::new(&sdk), tables);
    // In AWS, the stack's SecretsKeyId output; locally, the key's alias.
    let key_id = std::env::var("SECRETS_KEY_ID")
        .unwrap_or_else(|_| provision::key_alias(prefix, "SecretsKey"));
    let keyring = shared::keyring::Keyring::new(aws_sdk_kms::Config::new(&sdk), Some(key_id));
    (db, keyring)
}

async fn serve(args: ServeArgs) -> Result<(), BoxError> {
    let template_source = template_source(&args.local.template)?;
    let overrides = overrides_from_env(&Template::parse(&template_source)?)?;
    let stack = Stack::start(StackOptions {
        aws_endpoint: args.local.aws_endpoint.clone(),
        prefix: args.local.prefix,
        listen: SocketAddr::new(args.host, args.port),
        template_source,
        overrides,
        demo: Some(Demo {
            email: args.demo_email.clone(),
            key: args.demo_api_key,
        }),
        scheduler_interval: std::time::Duration::from_secs(args.scheduler_interval.max(1)),
        pollers: 2,
        call_counter: None,
        event_sources: true,
        strictness: Strictness {
            in_flight: std::time::Duration::from_millis(args.transaction_ms),
            faults: args.faults,
            meter: false,
        },
        visibility_timeout: std::time::Duration::from_secs(60),
        runtime: None,
    })
    .await?;
    let key = stack
        .demo_key
        .as_ref()
        .map(|k| k.expose().to_string())
        .unwrap_or_default();
    println!(
        "PushGuard is serving on {}/api/v2 (AWS emulator {})",
        stack.base_url(),
        args.local.aws_endpoint
    );
    println!(
        "each function reaches AWS through the strict layer at {} (IAM from the template, \
         {} ms transactions, faults: {:?})",
        stack.strict.url, args.transaction_ms, args.faults
    );
    println!("demo account: {}", args.demo_email);
    println!("demo test key: {key}");
    println!(
        "try: curl -H 'Authorization: Bearer {key}' {}/api/v2/account",
        stack.base_url()
    );
    stopped().await?;
    println!("stopping");
    Ok(())
}

/// Waits for Ctrl-C (SIGINT) or SIGTERM, the signal supervisors and `kill` send.
async fn stopped() -> std::io::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted,
        _ = terminate.recv() => Ok(()),
    }
}

async fn invoke(args: InvokeArgs) -> Result<(), BoxError> {
    let event: serde_json::Value = {
        let text = if args.event.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin())?
        } else {
            std::fs::read_to_string(&args.event)
                .map_err(|e| format!("{}: {e}", args.event.display()))?
        };
        serde_json::from_str(&text)
            .map_err(|e| format!("{}: not JSON: {e}", args.event.display()))?
    };
    let template_source = template_source(&args.local.template)?;
    let overrides = overrides_from_env(&Template::parse(&template_source)?)?;
    let stack = Stack::start(StackOptions {
        aws_endpoint: args.local.aws_endpoint.clone(),
        prefix: args.local.prefix,
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        template_source,
        overrides,
        demo: Some(Demo {
            email: "demo@pushguard.local".into(),
            key: Some(args.api_key),
        }),
        scheduler_interval: std::time::Duration::from_secs(60),
        pollers: 1,
        call_counter: None,
        event_sources: false,
        strictness: Strictness::default(),
        visibility_timeout: std::time::Duration::from_secs(60),
        runtime: None,
    })
    .await?;
    let (logical_id, _) = stack.find_function(&args.function).ok_or_else(|| {
        format!(
            "template.yaml has no function {:?}; it has {}",
            args.function,
            stack
                .functions
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let logical_id = logical_id.to_string();
    let mut instance = Instance::start(&stack, &logical_id, &args.binaries).await?;
    match instance.invoke(event).await? {
        Outcome::Response(response) => {
            println!("{}", serde_json::to_string_pretty(&response)?);
            Ok(())
        }
        Outcome::Error(error) => {
            println!("{}", serde_json::to_string_pretty(&error)?);
            Err(format!("{logical_id} reported an error").into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A setting the template leaves to the code's default (the portal's rate limit)
    /// is as much the developer's to change as one it sets; a resource name is not.
    #[test]
    fn the_environment_overrides_every_setting_and_nothing_else() {
        let template = Template::parse(template::BUNDLED).unwrap();
        let found = overrides(&template, |name| match name {
            "PORTAL_RATE_LIMIT_PER_SECOND" | "MAX_ENDPOINTS" => Some("0".into()),
            "HOME" => Some("/root".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            found.keys().map(String::as_str).collect::<Vec<_>>(),
            ["MAX_ENDPOINTS", "PORTAL_RATE_LIMIT_PER_SECOND"]
        );
    }
}
