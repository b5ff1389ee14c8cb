# PushGuard: `make run` serves the API locally, `make test` checks everything.
SHELL := bash
PYTHON ?= python3
VENV := .venv
PORT ?= 3000
MOTO_PORT ?= 4566
export MOTO_SERVER := $(CURDIR)/scripts/moto-server
# SAM CLI sends usage telemetry unless told not to.
export SAM_CLI_TELEMETRY := 0

# The functions' binaries, as template.yaml names them (Metadata.BuildProperties.Binary).
BINARIES := $(shell sed -n 's/^ *Binary: *//p' template.yaml)

.PHONY: moto-check fuzz openapi clients client-tools bench bench-cost bench-calls bench-fairness bench-coldstart bench-delivery bench-requests run test ruby-tools browser-tools lint fmt fmt-check clippy cfn-lint unit-and-integration provision invoke build sam-validate sam-build deploy clean

## Python tools (moto's server, cfn-lint), pinned, in .venv/
$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(VENV)/.fuzz-tools: requirements-fuzz.txt $(VENV)/.installed
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-fuzz.txt
	touch $@

$(VENV)/.build-tools: requirements-build.txt $(VENV)/.installed
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-build.txt
	touch $@

$(VENV)/.deploy-tools: requirements-deploy.txt $(VENV)/.build-tools
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-deploy.txt
	touch $@

## The API on 127.0.0.1:$(PORT) with a demo account, on moto at 127.0.0.1:$(MOTO_PORT)
## (the `local` profile: dependencies optimised, see Cargo.toml)
run: $(VENV)/.installed
	cargo build --profile local --bin pushguard
	MOTO_PORT=$(MOTO_PORT) scripts/with-moto ./target/local/pushguard serve --port $(PORT)

## Creates the tables and queues of template.yaml in the moto on $(MOTO_PORT)
provision: $(VENV)/.installed
	cargo build --bin pushguard
	MOTO_PORT=$(MOTO_PORT) scripts/with-moto ./target/debug/pushguard provision

## Every check CI runs: format, lints, template lint, unit and integration tests, then the
## API fuzzer. Not side by side: on 2 cores the fuzzer's load delayed the fairness test's
## deliveries past the window it measures (a failure, 2026-12-06).
test: $(VENV)/.installed ruby-tools browser-tools client-tools fmt-check clippy cfn-lint moto-check unit-and-integration fuzz

## The emulator wrapper's own check: rollback of cancelled transactions, cost per transaction
moto-check: $(VENV)/.installed
	$(VENV)/bin/python scripts/test_moto_isolated.py

## The client libraries' tools: Debian's Ruby (gem), Python's venv and Node.js with npm
## when missing, and the TypeScript package's pinned compiler (npm ci, from its lock file)
client-tools: ruby-tools
	@missing=""; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	python3 -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian's$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@test -d clients/typescript/node_modules/typescript || (cd clients/typescript && npm ci --no-audit --no-fund --silent)

## Debian's Ruby with ActiveSupport: a test runs the seed's own signature check in it
ruby-tools:
	@ruby -e 'require "active_support"; require "active_support/json"' 2>/dev/null || { \
	  echo "installing Debian's ruby and ruby-activesupport"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ruby ruby-activesupport >/dev/null; }

## Debian's Chromium and ChromeDriver (the portal's tests drive it) and Node.js (the
## portal's Node signature check is run in it), when missing
browser-tools:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian's$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

fmt:
	cargo fmt --all

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

cfn-lint: $(VENV)/.installed
	$(VENV)/bin/cfn-lint template.yaml

lint: fmt-check clippy cfn-lint

# Integration tests start their own moto on a free port ($$MOTO_SERVER); the smoke
# test runs the functions' host binaries, so they are built first.
unit-and-integration: $(VENV)/.installed
	cargo build --bins
	cargo test --workspace

## One function's real binary on one event against the local stack (sam local invoke without Docker):
## make invoke FUNCTION=AccountFunction EVENT=events/account-show.json
invoke: $(VENV)/.installed
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || { echo "usage: make invoke FUNCTION=AccountFunction EVENT=events/account-show.json"; exit 2; }
	cargo build --bins
	MOTO_PORT=$(MOTO_PORT) scripts/with-moto ./target/debug/pushguard invoke --function $(FUNCTION) --event $(EVENT)

## schemathesis against the local stack from openapi.json: no 5xx, every status documented
fuzz: $(VENV)/.fuzz-tools
	# --bins as unit-and-integration builds: one package alone would resolve features
	# differently and build every dependency again
	cargo build --bins
	scripts/fuzz-api

## Regenerate openapi.json from the code (a test fails when it is stale)
openapi:
	cargo run -q --bin pushguard -- openapi > openapi.json

## The client libraries' operation tables, from the OpenAPI document (after make openapi)
clients:
	cargo run -q --bin pushguard -- clients

## Every benchmark, figures printed (see BENCHMARKS.md)
bench: bench-delivery bench-calls bench-requests bench-coldstart bench-fairness bench-cost

## Cold starts: every function's release binary beside a hello-world lambda_http one
bench-coldstart: $(VENV)/.installed
	cargo build --release --bins
	cargo bench -p pushguard-tests --bench coldstart

## Delivery benchmark: prints throughput, latency and AWS calls per delivery (BENCH_* settings;
## BENCH_PROFILE=local measures the build `make run` serves, dev the tests')
bench-delivery: $(VENV)/.installed
	cargo bench -p pushguard-tests --bench delivery $(if $(BENCH_PROFILE),--profile $(BENCH_PROFILE))

## CPU per DynamoDB call through the AWS SDK beside the same request signed by hand (no emulator)
bench-calls:
	cargo bench -p pushguard-tests --bench calls

## Fairness between tenants: tenant B's commit-to-receipt latency alone, then while tenant A
## floods 10 slow receivers (BENCH_* settings; figures in seconds, so the dev build serves)
bench-fairness: $(VENV)/.installed
	cargo bench -p pushguard-tests --bench fairness --profile $(or $(BENCH_PROFILE),dev)

## What deliveries cost on AWS: request units by table, index and function, SQS, KMS, API
## Gateway and Lambda requests per delivery and list-price dollars per million, at 1, 5 and
## 10 endpoints, and what a retried first attempt adds (BENCH_* settings; units do not depend
## on the build, so the dev build the tests use serves)
bench-cost: $(VENV)/.installed
	cargo bench -p pushguard-tests --bench cost --profile $(or $(BENCH_PROFILE),dev)

## Rate-limiter benchmark: DynamoDB writes per request, paced under the limit and flooding it
bench-requests: $(VENV)/.installed
	cargo bench -p pushguard-tests --bench requests

## One arm64 Lambda zip per function, target/lambda/<binary>/bootstrap.zip, without Docker
## (cargo-lambda and zig from PyPI in .venv/), and each zip's size
build: $(VENV)/.build-tools
	rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release --arm64 --output-format zip $(addprefix --bin ,$(BINARIES))
	@for b in $(BINARIES); do \
	  stat -c '%s' target/lambda/$$b/bootstrap.zip | awk -v b=$$b '{ printf "%-18s %5.2f MB zip\n", b, $$1 / 1048576 }'; \
	done

## The template as SAM reads it (transform and cfn-lint), offline
sam-validate: $(VENV)/.deploy-tools
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/sam validate --lint

## sam build with the settings in samconfig.toml (cargo-lambda, no container)
sam-build: $(VENV)/.deploy-tools
	rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/sam build

deploy: sam-build
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/sam deploy --guided

clean:
	cargo clean
	rm -rf $(VENV) .aws-sam .moto.log
