# Two commands matter: `make run` (the whole product locally) and `make test` (every test, offline).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Test workers (pytest-xdist): the machine's two cores. Tests sharing the running product or a packaged
# template stay on one worker (the scheduler in tests/conftest.py), so each is built once.
TEST_WORKERS ?= 2

.PHONY: run reset call bidder test fuzz package bench clean screenshots

$(STAMP): requirements.txt requirements-dev.txt
	@echo "First run (or the requirements changed): installing Python packages into $(VENV)/, about a minute..."
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet --progress-bar off -r requirements.txt -r requirements-dev.txt
	@touch $(STAMP)
	@echo "Installed. Starting."

# `make call` (another shell) finds the emulator of a running `make run` on this port.
TWILIO_EMULATOR_PORT ?= 8020

# Keeps its data in DATA_DIR (default .data/) across restarts; `make run FRESH=1` starts empty.
run: $(STAMP)
	TWILIO_EMULATOR_PORT=$(TWILIO_EMULATOR_PORT) $(if $(FRESH),FRESH=$(FRESH)) $(if $(DATA_DIR),DATA_DIR=$(DATA_DIR)) $(PY) -m local.runtime

# Forget what `make run` kept (not while it runs): its next start is empty.
reset: $(STAMP)
	$(if $(DATA_DIR),DATA_DIR=$(DATA_DIR)) $(PY) -m local.data_folder reset

# One simulated phone call to a number of the running `make run`, told step by step:
# make call FROM=+14155552671 TO=<exchange number> [TALK=95] [OUTCOMES="+13125552671=no-answer"]
call: $(STAMP)
	TWILIO_EMULATOR_PORT=$(TWILIO_EMULATOR_PORT) $(PY) -m local.call --from $(FROM) --to $(TO) $(if $(TALK),--talk $(TALK)) $(foreach o,$(OUTCOMES),--outcome $(o))

# An example RTB bidder on the loopback for `make run` (another shell): bids BID on every ping it is sent.
BIDDER_PORT ?= 8030
BID ?= 6.00
bidder:
	python3 -m local.bidder --port $(BIDDER_PORT) --bid $(BID) $(if $(SECRET),--secret $(SECRET))

test: $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

# PNGs of the console's main pages, taken in headless Chromium against a runtime of their own, into
# out/screenshots/ (the README shows two of them, copied to docs/).
screenshots: $(STAMP)
	CONSOLE_SCREENSHOTS=out/screenshots $(PY) -m pytest -q -n 0 tests/e2e/test_console.py

# Schemathesis deeper than `make test` does it: more examples per route, every phase, against `make run`.
fuzz: $(STAMP)
	SCHEMATHESIS_MAX_EXAMPLES=$${SCHEMATHESIS_MAX_EXAMPLES:-100} SCHEMATHESIS_PHASES=$${SCHEMATHESIS_PHASES:-examples,coverage,fuzzing,stateful} $(PY) -m pytest tests/e2e/test_schemathesis.py

# CloudFormation for AWS: Chalice's own resources merged with infra/ (tables, queues, DLQs).
package: $(STAMP)
	rm -rf out
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(VENV)/bin/chalice package --stage $${STAGE:-dev} --merge-template infra/resources.json out/
	$(PY) -m infra.bytecode out/deployment.zip  # Lambda's /var/task is read-only: ship the .pyc
	$(VENV)/bin/cfn-lint out/sam.json

bench: $(STAMP)
	$(PY) bench/cold_start.py
	$(PY) bench/routing.py
	$(PY) bench/dynamodb_calls.py
	$(PY) bench/rate_limit_calls.py
	$(PY) bench/purchase_calls.py
	$(PY) bench/handler_overhead.py
	$(PY) bench/webhook_calls.py
	$(PY) bench/rtb.py
	$(PY) bench/load.py
	$(PY) bench/websocket_calls.py
	$(PY) bench/websocket_load.py
	test -f out/deployment.zip || $(MAKE) package
	$(PY) bench/package_start.py out/deployment.zip

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis

# docs/api.md from the OpenAPI document (tools/api_docs.py; --check tells whether it is stale, a test does too).
.PHONY: docs
docs: $(STAMP)
	$(PY) -m tools.api_docs
