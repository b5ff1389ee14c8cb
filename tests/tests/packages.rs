//! The client libraries' packages, each built offline as its ecosystem builds it (gem
//! build, a wheel, npm pack, cargo package), installed into an empty place, and used
//! there for a call against a stack: what a merchant installs is what was tested.
//! A test binary of its own: cargo runs it after the integration tests, so its builds
//! never share the CPU with their timing-sensitive tests.

mod common;

use common::{library, live, run, scratch};
use std::path::Path;

const TMP: &str = env!("CARGO_TARGET_TMPDIR");

#[tokio::test]
async fn the_ruby_gem_installs_from_its_package() {
    let dir = library("ruby");
    let (stack, env) = live("ruby-package@example.com").await;
    // gem build, then install into an empty GEM_HOME and call the API from there.
    let out = scratch(TMP, "gem");
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
        said.contains(&out.to_string_lossy().to_string()) && said.contains(env[2].1.as_str()),
        "the installed gem, not the checkout, made the call: {said}"
    );
    drop(stack);
    std::fs::remove_dir_all(&out).ok();
}

#[tokio::test]
async fn the_python_wheel_installs_into_an_empty_virtual_environment() {
    let dir = library("python");
    let (stack, env) = live("python-wheel@example.com").await;
    // A wheel built offline (the in-tree backend needs nothing), installed into an
    // empty virtual environment, and a call made from there.
    let out = scratch(TMP, "wheel");
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
        said.contains(&venv_text) && said.contains(env[2].1.as_str()),
        "the installed package, not the checkout, made the call: {said}"
    );
    drop(stack);
    std::fs::remove_dir_all(&out).ok();
}

#[tokio::test]
async fn the_npm_tarball_installs_into_an_empty_project() {
    let dir = library("typescript");
    let (stack, env) = live("npm-tarball@example.com").await;
    assert!(
        dir.join("node_modules/typescript").exists(),
        "clients/typescript has no node_modules: `make client-tools` (or npm ci there) installs its compiler"
    );
    // npm pack (its prepack compiles), then installed into an empty project, offline.
    let out = scratch(TMP, "npm");
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
        said.contains("project/node_modules/pushguard") && said.contains(env[2].1.as_str()),
        "the installed package, not the checkout, made the call: {said}"
    );
    drop(stack);
    std::fs::remove_dir_all(&out).ok();
}

#[tokio::test]
async fn the_packaged_rust_crate_builds_in_a_project_of_its_own() {
    let (stack, env) = live("rust-crate@example.com").await;
    // cargo package, then a project of its own builds the packaged crate (offline, the
    // workspace's lock file) and makes a call with it.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = Path::new(TMP).join("client-package");
    let target_text = target.to_string_lossy().to_string();
    run(
        &root,
        "cargo",
        &[
            "package",
            "-p",
            "pushguard-client",
            "--offline",
            "--no-verify",
            "--allow-dirty",
            "--target-dir",
            &target_text,
        ],
        &[],
    )
    .await;
    let out = scratch(TMP, "crate");
    let crate_file = target.join("package/pushguard-client-0.1.0.crate");
    run(&out, "tar", &["xzf", &crate_file.to_string_lossy()], &[]).await;
    let project = out.join("check");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::copy(root.join("Cargo.lock"), project.join("Cargo.lock")).unwrap();
    std::fs::write(
        project.join("Cargo.toml"),
        "[package]\nname = \"check\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[workspace]\n\n[dependencies]\npushguard-client = { path = \"../pushguard-client-0.1.0\" }\nserde_json = \"1\"\ntokio = { version = \"1\", features = [\"macros\", \"rt\"] }\n",
    )
    .unwrap();
    std::fs::write(
        project.join("src/main.rs"),
        "#[tokio::main(flavor = \"current_thread\")]\nasync fn main() {\n    let var = |name: &str| std::env::var(name).unwrap();\n    let options = pushguard_client::ClientOptions::new(var(\"PUSHGUARD_API_KEY\")).email(var(\"PUSHGUARD_API_EMAIL\")).base(var(\"PUSHGUARD_API_BASE\"));\n    let client = pushguard_client::Client::new(options).unwrap();\n    let account = client.account().retrieve(&serde_json::json!({})).await.unwrap();\n    println!(\"{}\", account.email);\n}\n",
    )
    .unwrap();
    let mut build_env = env.clone();
    build_env.push(("CARGO_TARGET_DIR", target_text.clone()));
    let said = run(
        &project,
        "cargo",
        &["run", "--offline", "--quiet"],
        &build_env,
    )
    .await;
    assert!(said.contains(env[2].1.as_str()), "{said}");
    drop(stack);
    std::fs::remove_dir_all(&out).ok();
}
