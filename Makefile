# PushGuard: `make run` serves the API locally, `make test` checks everything.
SHELL := bash
PYTHON ?= python3
VENV := .venv
PORT ?= 3000
MOTO_PORT ?= 4566
export MOTO_SERVER := $(CURDIR)/scripts/moto-server

.PHONY: bench-delivery run test lint fmt fmt-check clippy cfn-lint unit-and-integration provision build deploy clean

## Python tools (moto's server, cfn-lint), pinned, in .venv/
$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(VENV)/.deploy-tools: requirements-deploy.txt $(VENV)/.installed
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-deploy.txt
	touch $@

## The API on 127.0.0.1:$(PORT) with a demo account, on moto at 127.0.0.1:$(MOTO_PORT)
run: $(VENV)/.installed
	cargo build --bin pushguard
	MOTO_PORT=$(MOTO_PORT) scripts/with-moto ./target/debug/pushguard serve --port $(PORT)

## Creates the tables and queues of template.yaml in the moto on $(MOTO_PORT)
provision: $(VENV)/.installed
	cargo build --bin pushguard
	MOTO_PORT=$(MOTO_PORT) scripts/with-moto ./target/debug/pushguard provision

## Every check CI runs: format, lints, template lint, unit and integration tests
test: $(VENV)/.installed fmt-check clippy cfn-lint unit-and-integration

fmt:
	cargo fmt --all

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

cfn-lint: $(VENV)/.installed
	$(VENV)/bin/cfn-lint template.yaml

lint: fmt-check clippy cfn-lint

# Integration tests start their own moto on a free port ($$MOTO_SERVER).
unit-and-integration: $(VENV)/.installed
	cargo test --workspace

## Delivery benchmark: prints throughput, latency and AWS calls per delivery (BENCH_* settings)
bench-delivery: $(VENV)/.installed
	cargo bench -p pushguard-tests --bench delivery

## Lambda artifacts (arm64) with SAM and cargo-lambda, from .venv
build: $(VENV)/.deploy-tools
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/sam build

deploy: build
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/sam deploy --guided

clean:
	cargo clean
	rm -rf $(VENV) .aws-sam .moto.log
