# The README's two commands: `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: run test install install-dev lint fmt eval bench clean browser-deps a11y-deps audit

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first and pinned: it is a CPU build on these machines; an unpinned torch
# would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)
install-dev: $(DEV_STAMP)

# The demo: the pretend lender's site with demo sign-in, the demo book and demo staff
# logins (never in production: the server refuses to start with it there).
run: export LOAN_AGENT_DEMO ?= 1
run: export LOAN_AGENT_TURN_WORKERS ?= 2
run: install
	$(BIN)/loan-agent serve --host $(HOST) --port $(PORT)

# Debian's chromium for the real-browser tests (skipped when it cannot be installed).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed: browser tests will be skipped"; \
	  else echo "chromium missing and not root: browser tests will be skipped"; fi; }

# axe-core (accessibility rules) for the browser tests, from the npm registry into
# tests/web/.axe (skipped, with a reason, when npm is missing).
AXE_VERSION := 4.14.1
AXE := tests/web/.axe/node_modules/axe-core/axe.min.js
$(AXE):
	@command -v npm >/dev/null 2>&1 && \
	  npm install --silent --no-save --no-audit --no-fund --prefix tests/web/.axe \
	    axe-core@$(AXE_VERSION) \
	  || echo "npm missing: the accessibility checks will be skipped"
a11y-deps: $(AXE)

SCENARIO_DIRS := tests/scenarios $(wildcard ../shared/scenarios)

test: install-dev browser-deps a11y-deps
	$(BIN)/ruff check agent web tests
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc
	$(BIN)/loan-agent eval --strict --quiet $(SCENARIO_DIRS)

# Known vulnerabilities in the installed dependencies (not in the project itself, an
# editable install). --strict: a package the vulnerability service cannot answer for, or a
# service that cannot be reached, fails the audit; it never passes unaudited. Local
# version labels (torch's +cpu) are dropped: advisories name the public versions.
# A vulnerability without a fixed version would be ignored here, with its reason:
#   AUDIT_IGNORE := --ignore-vuln ID  # why it does not apply
AUDIT_IGNORE :=
AUDIT_REQUIREMENTS := $(VENV)/audit-requirements.txt
audit: install-dev
	$(BIN)/pip freeze --all --exclude-editable > $(AUDIT_REQUIREMENTS)
	sed -i -E 's/\+[A-Za-z0-9.]+$$//' $(AUDIT_REQUIREMENTS)
	$(BIN)/pip-audit --strict --disable-pip --no-deps --progress-spinner off \
	  $(AUDIT_IGNORE) -r $(AUDIT_REQUIREMENTS) \
	  || { echo "pip-audit FAILED: a known vulnerability, or not every package could be audited (see above)" >&2; exit 1; }

lint: install-dev
	$(BIN)/ruff check agent web tests
	$(BIN)/ruff format --check agent web tests

fmt: install-dev
	$(BIN)/ruff check --fix agent web tests
	$(BIN)/ruff format agent web tests

eval: install
	$(BIN)/loan-agent eval ../shared/scenarios tests/scenarios

bench: install
	$(BIN)/loan-agent bench

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache tests/web/.axe
