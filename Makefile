# Two commands matter: `make run` (the whole product locally) and `make test` (every test, offline).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test package bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m chalicelib.local.runtime

test: $(STAMP)
	$(PY) -m pytest

# CloudFormation for AWS: Chalice's own resources merged with infra/ (tables, queues, DLQs).
package: $(STAMP)
	rm -rf out
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(VENV)/bin/chalice package --stage $${STAGE:-dev} --merge-template infra/resources.json out/
	$(VENV)/bin/cfn-lint out/sam.json

bench: $(STAMP)
	$(PY) bench/cold_start.py
	$(PY) bench/routing.py
	$(PY) bench/dynamodb_calls.py
	$(PY) bench/purchase_calls.py

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
