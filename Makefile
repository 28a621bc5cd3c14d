# zhijian — the front door. The logic lives in scripts/*.sh; these targets only call them.
# Settings (environment or `make VAR=value`): PORT (8080), PROFILE (release for run, debug for
# contract), PG_PORT (54329), REDIS_PORT (63799), STUB_PORT (18089), RUST_LOG (info),
# SOAK_MINUTES (10), SOAK_CONCURRENCY (32), SOAK_FEATURES (default; none = system allocator).

SHELL := /bin/bash
.DEFAULT_GOAL := help
export PORT PROFILE PG_PORT REDIS_PORT STUB_PORT RUST_LOG SOAK_MINUTES SOAK_CONCURRENCY SOAK_FEATURES

.PHONY: help deps db-up stop clean status psql redis-cli secrets run test contract example-partner fmt lint bench crash soak

help: ## list the targets
	@echo "zhijian — make targets (fresh machine: 'make run' or 'make test')"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-10s %s\n", $$1, $$2 }'

deps: ## install missing system packages (postgresql-15, redis-server, python3-venv, ...)
	@scripts/deps.sh

db-up: deps ## provision and start private PostgreSQL (127.0.0.1:54329) and Redis (127.0.0.1:63799)
	@scripts/db.sh up

stop: ## stop the server of make run, the provider stub, PostgreSQL and Redis (no error if not running)
	@scripts/db.sh stop

clean: ## stop, then delete .zhijian/ (databases, logs, venv); keeps target/ and config/local.toml
	@scripts/db.sh clean

status: ## show whether PostgreSQL, Redis, the server of make run and the provider stub are running
	@scripts/db.sh status

psql: db-up ## psql to the zhijian database
	@scripts/db.sh psql

redis-cli: db-up ## redis-cli to the private Redis
	@scripts/db.sh redis-cli

secrets: ## write config/local.toml with random secrets if it is missing
	@scripts/secrets.sh

run: ## deps, databases, secrets, build, stub, migrate, regions, demo data; serve on http://127.0.0.1:8080
	@scripts/run.sh

test: ## everything CI checks: fmt, clippy, tests against the private databases, contract tests
	@scripts/test.sh

contract: ## schemathesis: openapi.yaml against a freshly seeded server
	@scripts/contract.sh

example-partner: ## the example partner (examples/partner/partner.py) against a freshly seeded server
	@scripts/example-partner.sh

bench: ## B1–B4 on generated data (BENCH_SIZES=10000,1000000 skips 10 M); figures in bench/results/, see BENCHMARKS.md
	@scripts/bench.sh

crash: ## crash under load: SIGKILL to PostgreSQL, then to the server, mid-submission (CRASH_SIZE=10000); result in .zhijian/crash/result.json
	@PROFILE=$${PROFILE:-release} scripts/crash.sh

soak: ## every flow in a loop at concurrency SOAK_CONCURRENCY (32) for SOAK_MINUTES (10); RSS over time in .zhijian/soak/, fails if it grows
	@scripts/soak.sh

fmt: ## format the Rust code
	cargo fmt --all

lint: ## rustfmt check and clippy with warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
