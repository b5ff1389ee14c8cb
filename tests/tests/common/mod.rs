//! What the client libraries' tests share: where each library is, running its tools,
//! and a stack with an account for its live tests.

use harness::TestStack;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Tight enough that a test reaches the outbound limit in a few calls.
const SETTINGS: [(&str, &str); 2] = [
    ("OUTBOUND_RATE_LIMIT_PER_SECOND", "1"),
    ("OUTBOUND_RATE_LIMIT_BURST", "3"),
];

pub fn library(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../clients")
        .join(name)
}

/// Runs `program args` in `dir` with `env`; fails the test with its output unless it
/// succeeds. Its output, for the figures it prints.
pub async fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, String)]) -> String {
    let mut command = Command::new(program);
    command.args(args).current_dir(dir);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "{program} {args:?} in {dir:?} failed:\n{text}"
    );
    text
}

/// A stack and an account: the environment a library's tests read
/// (`PUSHGUARD_API_BASE`, `PUSHGUARD_API_KEY`, `PUSHGUARD_API_EMAIL`).
pub async fn live(email: &str) -> (TestStack, Vec<(&'static str, String)>) {
    let stack = TestStack::start_with(&SETTINGS).await;
    let account = stack.account(email).await;
    let env = vec![
        (
            "PUSHGUARD_API_BASE",
            format!("{}/api/v2", stack.stack.base_url()),
        ),
        ("PUSHGUARD_API_KEY", account.test_key.clone()),
        ("PUSHGUARD_API_EMAIL", email.to_string()),
    ];
    (stack, env)
}

/// An empty directory of its own under `base` (a test target's temporary directory).
pub fn scratch(base: &str, name: &str) -> PathBuf {
    let dir = Path::new(base).join(format!("{name}-{}", shared::ids::LogId::new().as_str()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
