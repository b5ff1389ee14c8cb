//! The client libraries (`clients/`), each run by its own language against this stack:
//! its unit tests, its live tests (an endpoint made, an order caused, the delivery
//! received and verified with the library's helpers, lists paged, errors, a lost answer
//! retried with its Idempotency-Key, signed requests, a rate limit), and its package
//! built and installed into an empty place, then used for a call.

use harness::TestStack;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Tight enough that a test reaches the outbound limit in a few calls.
const SETTINGS: [(&str, &str); 2] = [
    ("OUTBOUND_RATE_LIMIT_PER_SECOND", "1"),
    ("OUTBOUND_RATE_LIMIT_BURST", "3"),
];

fn library(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../clients")
        .join(name)
}

/// Runs `program args` in `dir` with `env`; fails the test with its output unless it
/// succeeds. Its output, for the figures it prints.
async fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, String)]) -> String {
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

/// A stack and an account: the environment a library's live tests read.
async fn live(email: &str) -> (TestStack, Vec<(&'static str, String)>) {
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

/// An empty directory of its own under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}", shared::ids::LogId::new().as_str()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn the_ruby_gem_works_as_the_original_docs_write_it_and_installs_from_its_package() {
    let dir = library("ruby");
    let (stack, env) = live("ruby-gem@example.com").await;
    let unit = run(&dir, "ruby", &["-Ilib", "test/unit_test.rb"], &[]).await;
    let live = run(&dir, "ruby", &["-Ilib", "test/live_test.rb"], &env).await;
    println!("ruby unit: {}", unit.lines().last().unwrap_or_default());
    println!("ruby live: {}", live.lines().last().unwrap_or_default());

    // gem build, then install into an empty GEM_HOME and call the API from there.
    let out = scratch("gem");
    let package = out.join("pushguard.gem");
    let package_text = package.to_string_lossy().to_string();
    run(
        &dir,
        "gem",
        &["build", "pushguard.gemspec", "--output", &package_text],
        &[],
    )
    .await;
    let home = out.join("home");
    let home_text = home.to_string_lossy().to_string();
    run(
        &out,
        "gem",
        &[
            "install",
            "--local",
            "--no-document",
            "--install-dir",
            &home_text,
            &package_text,
        ],
        &[],
    )
    .await;
    let mut installed_env = env.clone();
    installed_env.push(("GEM_HOME", home_text.clone()));
    installed_env.push(("GEM_PATH", home_text));
    let said = run(
        &out,
        "ruby",
        &[
            "-e",
            "require 'PushGuard'\nPushGuard.api_key = ENV['PUSHGUARD_API_KEY']\nPushGuard.api_email = ENV['PUSHGUARD_API_EMAIL']\nputs Gem.loaded_specs['pushguard'].full_gem_path\nputs PushGuard::Account.retrieve['email']",
        ],
        &installed_env,
    )
    .await;
    assert!(
        said.contains(&out.to_string_lossy().to_string()) && said.contains("ruby-gem@example.com"),
        "the installed gem, not the checkout, made the call: {said}"
    );
    drop(stack);
    std::fs::remove_dir_all(&out).ok();
}

#[tokio::test]
async fn the_python_package_works_against_the_stack_and_installs_from_its_wheel() {
    let dir = library("python");
    let (stack, env) = live("python-package@example.com").await;
    let unit = run(
        &dir,
        "python3",
        &["-m", "unittest", "tests/test_unit.py"],
        &[],
    )
    .await;
    let live = run(
        &dir,
        "python3",
        &["-m", "unittest", "-v", "tests/test_live.py"],
        &env,
    )
    .await;
    println!(
        "python unit: {}",
        unit.lines().rfind(|l| !l.is_empty()).unwrap_or_default()
    );
    println!(
        "python live: {}",
        live.lines().rfind(|l| !l.is_empty()).unwrap_or_default()
    );

    // A wheel built offline (the in-tree backend needs nothing), installed into an
    // empty virtual environment, and a call made from there.
    let out = scratch("wheel");
    let venv = out.join("venv");
    let venv_text = venv.to_string_lossy().to_string();
    run(&out, "python3", &["-m", "venv", &venv_text], &[]).await;
    let pip = venv.join("bin/pip").to_string_lossy().to_string();
    let out_text = out.to_string_lossy().to_string();
    let source = dir.to_string_lossy().to_string();
    run(
        &out,
        &pip,
        &["wheel", "--no-deps", "--no-index", "-w", &out_text, &source],
        &[],
    )
    .await;
    let wheel = out.join("pushguard-0.1.0-py3-none-any.whl");
    assert!(wheel.exists(), "no wheel in {out:?}");
    run(
        &out,
        &pip,
        &["install", "--no-index", &wheel.to_string_lossy()],
        &[],
    )
    .await;
    let python = venv.join("bin/python").to_string_lossy().to_string();
    let said = run(
        &out,
        &python,
        &[
            "-c",
            "import os, pushguard\nclient = pushguard.Client(api_key=os.environ['PUSHGUARD_API_KEY'], api_email=os.environ['PUSHGUARD_API_EMAIL'], api_base=os.environ['PUSHGUARD_API_BASE'])\nprint(pushguard.__file__)\nprint(client.account.retrieve()['email'])",
        ],
        &env,
    )
    .await;
    assert!(
        said.contains(&venv_text) && said.contains("python-package@example.com"),
        "the installed package, not the checkout, made the call: {said}"
    );
    drop(stack);
    std::fs::remove_dir_all(&out).ok();
}

#[tokio::test]
async fn the_typescript_package_works_against_the_stack_and_installs_from_its_tarball() {
    let dir = library("typescript");
    assert!(
        dir.join("node_modules/typescript").exists(),
        "clients/typescript has no node_modules: `make client-tools` (or npm ci there) installs its compiler"
    );
    let (stack, env) = live("typescript-package@example.com").await;
    run(
        &dir,
        "node",
        &["node_modules/typescript/bin/tsc", "-p", "."],
        &[],
    )
    .await;
    let unit = run(&dir, "node", &["--test", "dist/test/unit.test.js"], &[]).await;
    let live = run(&dir, "node", &["--test", "dist/test/live.test.js"], &env).await;
    let summary = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("# pass") || l.starts_with("# fail"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("typescript unit: {}", summary(&unit));
    println!("typescript live: {}", summary(&live));

    // npm pack (its prepack compiles), then installed into an empty project, offline.
    let out = scratch("npm");
    let out_text = out.to_string_lossy().to_string();
    run(
        &dir,
        "npm",
        &["pack", "--silent", "--pack-destination", &out_text],
        &[],
    )
    .await;
    let tarball = out.join("pushguard-0.1.0.tgz");
    assert!(tarball.exists(), "no tarball in {out:?}");
    let project = out.join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("package.json"),
        r#"{"name":"check","private":true,"type":"module"}"#,
    )
    .unwrap();
    run(
        &project,
        "npm",
        &[
            "install",
            "--offline",
            "--no-audit",
            "--no-fund",
            &tarball.to_string_lossy(),
        ],
        &[],
    )
    .await;
    let said = run(
        &project,
        "node",
        &[
            "--input-type=module",
            "-e",
            "import { Client } from 'pushguard';\nimport { createRequire } from 'node:module';\nconst client = new Client({ apiKey: process.env.PUSHGUARD_API_KEY, apiEmail: process.env.PUSHGUARD_API_EMAIL, apiBase: process.env.PUSHGUARD_API_BASE });\nconsole.log(createRequire(import.meta.url).resolve('pushguard'));\nconsole.log((await client.account.retrieve()).email);",
        ],
        &env,
    )
    .await;
    assert!(
        said.contains("project/node_modules/pushguard")
            && said.contains("typescript-package@example.com"),
        "the installed package, not the checkout, made the call: {said}"
    );
    drop(stack);
    std::fs::remove_dir_all(&out).ok();
}
