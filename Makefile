# The commands a person types; CI (.ci/run) calls the same ones. `make` alone lists them.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
LOCAL := $(ROOT)/deploy/local
CARGO_HOME ?= $(HOME)/.cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(ROOT)/target)
SERVICE_NAMES := slrt-intake slrt-eligibility slrt-referral slrt-disbursement

SLRT_PG_PORT ?= 55432
SLRT_KAFKA_PORT ?= 19092
export SLRT_PG_PORT SLRT_KAFKA_PORT
# cargo-installed tools (tansu among them) live here; a fresh rustup leaves it off PATH.
ifeq ($(filter $(CARGO_HOME)/bin,$(subst :, ,$(PATH))),)
export PATH := $(CARGO_HOME)/bin:$(PATH)
endif

# What the tests find the local infrastructure by. On a fresh machine tansu is not installed
# yet when this is read; install.sh then puts it where the fallback points.
export SLRT_TEST_DATABASE_URL ?= postgres://slrt@127.0.0.1:$(SLRT_PG_PORT)/postgres
export SLRT_KAFKA_BROKERS ?= 127.0.0.1:$(SLRT_KAFKA_PORT)
ifndef SLRT_TANSU_BIN
SLRT_TANSU_BIN := $(or $(shell command -v tansu 2>/dev/null),$(CARGO_HOME)/bin/tansu)
endif
export SLRT_TANSU_BIN
export SLRT_BIN_DIR ?= $(TARGET_DIR)/debug

# `make run RELEASE=1` runs optimised builds of the services.
RELEASE ?=
BENCH_ARGS ?=

.PHONY: help install infra-up run down test lint fmt build bench bench-cases logs status clean-state

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk -F':.*## ' '{ printf "  make %-12s %s\n", $$1, $$2 }'

install: ## install what is missing: PostgreSQL, tansu, build tools
	@$(LOCAL)/install.sh

infra-up: install ## start PostgreSQL and the broker under .state/
	@$(LOCAL)/infra.sh up

run: infra-up ## install, start PostgreSQL, the broker and the four services
	@$(LOCAL)/services.sh up $(if $(RELEASE),--release)

down: ## stop the services, the broker and PostgreSQL
	@$(LOCAL)/services.sh down
	@$(LOCAL)/infra.sh down

status: ## show what runs where
	@$(LOCAL)/infra.sh status

# lint first: it is the quickest to fail.
test: lint infra-up ## lint, start the infrastructure, run every test
	cargo build --workspace --bins
	if cargo nextest --version >/dev/null 2>&1; then \
		cargo nextest run --workspace --no-fail-fast; \
		cargo test --workspace --doc --no-fail-fast; \
	else \
		cargo test --workspace --no-fail-fast; \
	fi

lint: ## clippy (warnings are errors) and a rustfmt check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo fmt --all --check

fmt: ## format the code
	cargo fmt --all

build: ## build every binary (debug)
	cargo build --workspace --bins

BENCH_CASES ?= 2000
BENCH_CONCURRENCY ?= 32
BENCH_DIR := $(ROOT)/.state/bench
LOADGEN := $(TARGET_DIR)/release/slrt-loadgen

# Each run takes households nobody has seen (a household already on PKH is rightly refused
# it again), restarts the services so eligibility loads them, then drives the cases.
bench: infra-up ## drive BENCH_CASES cases end to end through a fresh stack run; figures in .state/bench/
	cargo build --release -p slrt-system-tests --bin slrt-loadgen
	mkdir -p $(BENCH_DIR)
	start=$$(cat $(BENCH_DIR)/next-household 2>/dev/null || echo 0); \
	$(LOADGEN) registry --households $(BENCH_CASES) --start $$start --out $(BENCH_DIR)/registry.csv; \
	echo $$((start + $(BENCH_CASES))) > $(BENCH_DIR)/next-household
	$(LOCAL)/services.sh down
	SLRT_ELIGIBILITY_REGISTRY_SEED=$(BENCH_DIR)/registry.csv $(LOCAL)/services.sh up $(if $(RELEASE),--release)
	$(LOADGEN) run --registry $(BENCH_DIR)/registry.csv --cases $(BENCH_CASES) \
		--concurrency $(BENCH_CONCURRENCY) --out $(BENCH_DIR)/results.json $(BENCH_ARGS)

bench-cases: infra-up ## case list/search/counts latency at 1,000,000 cases (BENCH_CASES_ARGS: --cases N --runs N --reuse)
	cargo run --release -p slrt-intake --bin slrt-intake-bench-cases -- --out $(BENCH_DIR)/cases.json $(BENCH_CASES_ARGS)

.PHONY: bench-payments
bench-payments: infra-up ## one period for BENCH_PAYMENTS_ARGS (default --beneficiaries 1000000): prepare, release, send, reconcile; figures in .state/bench/payments.json
	cargo build --release -p slrt-bank-simulator -p slrt-disbursement --bin slrt-bank-simulator --bin slrt-payments-bench
	$(TARGET_DIR)/release/slrt-payments-bench --bank-simulator $(TARGET_DIR)/release/slrt-bank-simulator \
		--out $(BENCH_DIR)/payments.json $(BENCH_PAYMENTS_ARGS)

.PHONY: fuzz
fuzz: infra-up ## schemathesis against intake's OpenAPI document on the running stack; reports in .state/fuzz/
	@$(ROOT)/deploy/fuzz/run.sh

logs: ## follow the services' logs
	tail -n 20 -F $(foreach s,$(SERVICE_NAMES),$(ROOT)/.state/logs/$(s).log)

clean-state: down ## stop everything and delete .state/ (databases, topics, logs)
	rm -rf $(ROOT)/.state
