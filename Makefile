# FastEVM developer shortcuts. Every target is a thin wrapper over the real command, which it
# prints before running (`make -n TARGET` shows it without running anything). `make help` lists
# the targets and the variables; override a variable on the command line, e.g.
#
#   make dev NODES=4
#   make perf-test NODES=4 TXS=20000
#   make integration-test INTEGRATION_TESTS=dev_chain TEST_ARGS=--nocapture

# --- Variables (override with `make VAR=value`) -------------------------------------------------

# Cargo binary.
CARGO ?= cargo
# The node binary `make build` produces (the Docker image and the dev targets run it).
FASTEVM ?= target/release/fastevm
# Root of all local dev data: `fastevm dev` in DATADIR/dev, `fastevm node` in DATADIR/node,
# the single-validator committee of dev-consensus in DATADIR/consensus (removed by `make clean`).
DATADIR ?= .fastevm
# Validators of `make dev` / `make perf-test` (fastevm dev --nodes).
NODES ?= 1
# Transfers `make perf-test` sends (fastevm load --txs).
TXS ?= 5000
# Extra flags for `fastevm load`, e.g. LOAD_ARGS="--inflight 4".
LOAD_ARGS ?=
# JSON-RPC addresses of the dev chain's nodes: `fastevm dev` puts node i on 8545, 8547, 8549,
# 8555, 8557, ... (stepping over the Engine API ports 8551-8554).
DEV_RPC_PORTS := 8545 8547 8549 8555 8557 8559 8561 8563 8565 8567
comma := ,
empty :=
space := $(empty) $(empty)
RPC ?= $(subst $(space),$(comma),$(foreach p,$(wordlist 1,$(NODES),$(DEV_RPC_PORTS)),127.0.0.1:$(p)))
# `make dev` serves node i's Prometheus metrics on METRICS_PORT + i (the dashboard reads them).
METRICS_PORT ?= 9101
DEV_METRICS = $(subst $(space),$(comma),$(foreach i,$(wordlist 1,$(NODES),0 1 2 3 4 5 6 7 8 9),http://127.0.0.1:$(shell echo $$(($(METRICS_PORT) + $(i))))/metrics))
# Genesis of the dev execution node (`fastevm genesis dev` regenerates it).
CHAIN ?= genesis/dev.json
# Ports of dev-execution / dev-consensus.
HTTP_PORT ?= 8545
AUTH_PORT ?= 8551
CONSENSUS_PORT ?= 9000
# Empty block after this many ms without transactions (0: blocks only for transactions).
HEARTBEAT_MS ?= 0
# Docker image tag and compose project of the devnet (as docker/devnet.sh names them).
IMAGE ?= fastevm:local
PROJECT ?= fastevm-devnet
# Services whose logs `make docker-logs` follows (empty: all).
SERVICES ?=
# `docker compose` (v2) when installed, else Debian's `docker-compose` (v1), as devnet.sh does.
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo 'docker compose' || echo docker-compose)
# End-to-end test modules (tests/it/*.rs) that start the binary, several nodes or the Docker devnet.
INTEGRATION_TESTS ?= dev_chain node_restart pool_journal validator_restart metrics web3_client \
	dashboard chain_file docker_devnet
# The four-node tests: in-process dev chain, separate node/consensus processes, Docker devnet.
MULTI_NODE_TESTS ?= dev_chain validator_restart docker_devnet
# Arguments after `--` for the test binaries, e.g. TEST_ARGS=--nocapture.
TEST_ARGS ?=
# One benchmark of the root package (block_execution, engine_api, engine_import,
# sender_recovery); empty runs them all.
BENCH ?=
# Python for `make setup`'s pip install; sudo unless already root.
PYTHON ?= python3
SUDO ?= $(if $(filter 0,$(shell id -u)),,sudo)

HELP_VARS := CARGO FASTEVM DATADIR NODES TXS RPC METRICS_PORT LOAD_ARGS CHAIN HTTP_PORT AUTH_PORT \
	CONSENSUS_PORT HEARTBEAT_MS IMAGE PROJECT SERVICES INTEGRATION_TESTS MULTI_NODE_TESTS \
	TEST_ARGS BENCH

EXEC_DATADIR = $(DATADIR)/node
CONSENSUS_DIR = $(DATADIR)/consensus
DEV_JWT = $(DATADIR)/jwt.hex
PERF_DATADIR = $(DATADIR)/perf
TEST_TAIL = $(if $(strip $(TEST_ARGS)),-- $(TEST_ARGS))
DEVNET_ENV = FASTEVM_BIN='$(abspath $(FASTEVM))' FASTEVM_IMAGE='$(IMAGE)' FASTEVM_PROJECT='$(PROJECT)'

.DEFAULT_GOAL := help
.PHONY: help build test integration-test multi-node-test benchmark check-all setup clean \
	dev dashboard dev-execution dev-consensus perf-test \
	docker-build docker-up docker-status docker-logs docker-down docker-clean

# --- Targets ------------------------------------------------------------------------------------

help: ## List the targets and variables
	@echo 'Usage: make TARGET [VAR=value ...]'
	@echo
	@echo 'Targets:'
	@sed -n 's/^\([a-zA-Z0-9_-]*\):.*## \(.*\)$$/\1	\2/p' $(MAKEFILE_LIST) | \
		awk -F '	' '{ printf "  %-18s %s\n", $$1, $$2 }'
	@echo
	@echo 'Variables (current value):'
	@$(foreach v,$(HELP_VARS),printf '  %-18s %s\n' '$(v)' '$(strip $($(v)))';)

build: ## Release build of the node: cargo build --release --locked
	$(CARGO) build --release --locked

test: ## All tests, exactly what CI runs: cargo test --workspace --locked
	$(CARGO) test --workspace --locked $(TEST_TAIL)

integration-test: ## End-to-end tests only: cargo test --locked -p fastevm --test it -- MODULE:: ... (INTEGRATION_TESTS)
	$(CARGO) test --locked -p fastevm --test it -- $(addsuffix ::,$(INTEGRATION_TESTS)) $(TEST_ARGS)

multi-node-test: ## Four-node tests: dev --nodes 4, node+consensus processes, Docker devnet (MULTI_NODE_TESTS)
	$(CARGO) test --locked -p fastevm --test it -- $(addsuffix ::,$(MULTI_NODE_TESTS)) $(TEST_ARGS)

benchmark: ## Benchmarks of the root package: cargo bench --locked [--bench BENCH]
	$(CARGO) bench --locked $(if $(strip $(BENCH)),--bench $(BENCH))

check-all: ## Format check, clippy with -D warnings, then the CI tests
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) test --workspace --locked $(TEST_TAIL)

setup: ## Install what .ci/run installs: apt libclang-dev clang busybox-static chromium prometheus, pip web3 eth-account
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y libclang-dev clang busybox-static chromium
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus
	$(PYTHON) -m pip install --disable-pip-version-check web3 eth-account

clean: ## cargo clean, and remove the dev data directory DATADIR
	@d='$(abspath $(DATADIR))'; refuse() { echo "make clean: refusing to remove DATADIR='$(DATADIR)'" >&2; exit 1; }; \
		case "$$d" in ''|/|'$(abspath $(HOME))') refuse;; esac; \
		case '$(CURDIR)/' in "$$d"/*) refuse;; esac
	$(CARGO) clean
	rm -rf -- $(DATADIR)

dev: build ## Whole dev chain in one process: fastevm dev --nodes NODES --datadir DATADIR/dev
	$(FASTEVM) dev --nodes $(NODES) --datadir $(DATADIR)/dev --heartbeat-ms $(HEARTBEAT_MS) \
		--metrics 127.0.0.1:$(METRICS_PORT)

dashboard: build ## Live dashboard of the dev chain on 127.0.0.1:8080: fastevm dashboard --nodes RPC (start make dev first)
	$(FASTEVM) dashboard --nodes $(subst 127.0.0.1,http://127.0.0.1,$(RPC)) --metrics $(DEV_METRICS)

dev-execution: build $(DEV_JWT) ## Execution node alone on the dev genesis: fastevm node --chain CHAIN (RPC HTTP_PORT, Engine AUTH_PORT)
	$(FASTEVM) node --chain $(CHAIN) --datadir $(EXEC_DATADIR) \
		--http.port $(HTTP_PORT) --authrpc.port $(AUTH_PORT) --authrpc.jwtsecret $(DEV_JWT)

dev-consensus: build $(DEV_JWT) $(CONSENSUS_DIR)/committee.json ## Validator driving dev-execution's Engine API: fastevm consensus (1-validator committee)
	$(FASTEVM) consensus --execution-url http://127.0.0.1:$(AUTH_PORT) --jwt-secret $(DEV_JWT) \
		--committee $(CONSENSUS_DIR)/committee.json --node-config $(CONSENSUS_DIR)/validator-0.json \
		--heartbeat-ms $(HEARTBEAT_MS)

# The Engine API secret both dev processes share (made once; fastevm node would also make it,
# but dev-consensus may be started first).
$(DEV_JWT):
	@mkdir -p $(@D)
	umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > $@

# One validator with fresh keys, made once: its consensus database depends on them.
$(CONSENSUS_DIR)/committee.json: | build
	$(FASTEVM) keygen --nodes 1 --out $(CONSENSUS_DIR) --base-port $(CONSENSUS_PORT) \
		--storage-root $(abspath $(CONSENSUS_DIR))/db

perf-test: build ## Throughput and latency: fastevm load --rpc RPC --txs TXS (starts fastevm dev --nodes NODES if RPC is not up)
	@set -eu; \
	command -v curl >/dev/null || { echo 'perf-test: needs curl' >&2; exit 1; }; \
	up() { curl -s -o /dev/null --max-time 2 -H 'Content-Type: application/json' \
		--data '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' "http://$$1"; }; \
	count_up() { n=0; for a in $$(echo '$(RPC)' | tr , ' '); do if up "$$a"; then n=$$((n + 1)); fi; done; echo $$n; }; \
	want=$$(echo '$(RPC)' | tr , ' ' | wc -w); have=$$(count_up); \
	if [ "$$have" -eq "$$want" ]; then \
		echo "perf-test: using the chain running at $(RPC)"; \
	elif [ "$$have" -gt 0 ] || [ '$(origin RPC)' != file ]; then \
		echo "perf-test: only $$have of the $$want addresses in RPC=$(RPC) answer" >&2; exit 1; \
	else \
		rm -rf -- '$(PERF_DATADIR)'; mkdir -p '$(PERF_DATADIR)'; \
		echo "+ $(FASTEVM) dev --nodes $(NODES) --datadir $(PERF_DATADIR) > $(PERF_DATADIR)/dev.log 2>&1 &"; \
		'$(FASTEVM)' dev --nodes $(NODES) --datadir '$(PERF_DATADIR)' > '$(PERF_DATADIR)/dev.log' 2>&1 & \
		pid=$$!; \
		trap 'kill $$pid 2>/dev/null || true; wait $$pid 2>/dev/null || true' EXIT; \
		trap 'exit 130' INT TERM; \
		i=0; until [ "$$(count_up)" -eq "$$want" ]; do \
			kill -0 $$pid 2>/dev/null || { echo "perf-test: fastevm dev exited, see $(PERF_DATADIR)/dev.log" >&2; exit 1; }; \
			i=$$((i + 1)); [ $$i -le 120 ] || { echo "perf-test: $(RPC) not up after 60 s, see $(PERF_DATADIR)/dev.log" >&2; exit 1; }; \
			sleep 0.5; \
		done; \
	fi; \
	echo "+ $(FASTEVM) load --rpc $(RPC) --txs $(TXS) $(LOAD_ARGS)"; \
	'$(FASTEVM)' load --rpc '$(RPC)' --txs $(TXS) $(LOAD_ARGS)

docker-build: build ## Image IMAGE from the release binary, no registry: docker/build-image.sh FASTEVM IMAGE
	docker/build-image.sh $(FASTEVM) $(IMAGE)

docker-up: ## Start the 4-validator devnet (rebuilds a missing/stale image): docker/devnet.sh start
	$(DEVNET_ENV) docker/devnet.sh start

docker-status: ## Containers and each node's head block: docker/devnet.sh status
	$(DEVNET_ENV) docker/devnet.sh status

docker-logs: ## Follow the devnet logs (SERVICES, default all): docker/devnet.sh logs
	$(DEVNET_ENV) docker/devnet.sh logs $(SERVICES)

docker-down: ## Remove the devnet containers and network, keep the chain volumes: compose down
	FASTEVM_IMAGE='$(IMAGE)' $(COMPOSE) -p $(PROJECT) -f docker/docker-compose.yml --profile monitoring down --remove-orphans

docker-clean: ## Remove containers, network and volumes (the chain is lost): docker/devnet.sh cleanup
	$(DEVNET_ENV) docker/devnet.sh cleanup
