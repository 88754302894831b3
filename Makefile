# Two entry points for a fresh machine: `make demo` (install + full pipeline) and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
FIND_LINKS := $(if $(PIP_FIND_LINKS),--find-links $(PIP_FIND_LINKS))
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: install demo leave-last-out serve stop airflow airflow-stop test bench lint lock clean
export BENTOML_HOME ?= $(CURDIR)/.bentoml
export BENTOML_DO_NOT_TRACK := true
PORT ?= 3000

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip uv
	# torch first, with pip: the CPU wheel comes from local disk (PIP_FIND_LINKS); uv would
	# otherwise resolve a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(UV) pip install --python $(PY) --compile-bytecode $(FIND_LINKS) \
		-r requirements.txt -r requirements-dev.txt -c constraints.txt
	$(UV) pip install --python $(PY) --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: install
	mkdir -p data/feedback
	dvc repro
	@echo "Validation summary: reports/validation/summary.json"
	@echo "Great Expectations Data Docs: reports/validation/gx/uncommitted/data_docs/local_site/index.html"
	@echo "Features: reports/features/summary.json; models: models/<family>/manifest.json"
	@echo "Model and fusion report: reports/train/metrics.json, reports/train/metrics_at_k.png"
	@$(PY) -c "import json; s=json.load(open('reports/train/metrics.json'))['summary']; print(json.dumps(s, indent=2))"
	@echo "Gate: reports/monitor/gate.json; drift decision: reports/monitor/decision.json"
	$(MAKE) serve
	$(MAKE) airflow
	@echo "Run the pipeline through Airflow: in the UI, open shopfusion_ingest and press Trigger"
	@echo "(the validated-data asset then starts shopfusion_train; shopfusion_monitor runs hourly)."

# Single models under per-user leave-last-out (reports/train/leave_last_out.json), after `make demo`:
# a report beside published numbers that nothing downstream reads, so not in the default `dvc repro`.
leave-last-out: install
	dvc repro benchmarks/leave_last_out/dvc.yaml

# Airflow 3 standalone with the DAGs (SQLite, LocalExecutor, simple auth), in the background;
# the admin password is in .airflow/simple_auth_manager_passwords.json.generated.
airflow: install
	scripts/airflow.sh start

airflow-stop:
	scripts/airflow.sh stop

# The champion from the BentoML model store, in the background (pid in .serve.pid; `make stop`).
# Waits at most SERVE_WAIT seconds for /readyz; a service that exits or never answers prints
# the end of its log and fails.
SERVE_WAIT ?= 180
serve: install
	@$(MAKE) -s stop
	nohup bentoml serve shopfusion.serving.service:ShopFusion --port $(PORT) > serve.log 2>&1 & echo $$! > .serve.pid
	@for i in $$(seq 1 $(SERVE_WAIT)); do \
		curl -sf --max-time 2 127.0.0.1:$(PORT)/readyz >/dev/null && break; \
		kill -0 $$(cat .serve.pid) 2>/dev/null || break; sleep 1; done
	@curl -sf --max-time 10 -X POST 127.0.0.1:$(PORT)/recommend -H 'content-type: application/json' -d '{"k": 5}' \
		|| (echo "service did not start; the end of serve.log:"; tail -n 20 serve.log; $(MAKE) -s stop; exit 1)
	@echo; echo "Serving on http://localhost:$(PORT) (Swagger UI there; this machine only: serve.host)"
	@echo "logs: serve.log; stop: make stop; admin key (x-api-key for /admin/*): .secrets/api_key"

stop:
	@if [ -f .serve.pid ]; then kill $$(cat .serve.pid) 2>/dev/null || true; rm -f .serve.pid; fi

# pytest exits 5 when it collects no test: that is a failure of the suite, not a pass.
test: install
	$(PY) -m pytest --timeout 900; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

bench: install
	$(PY) -m benchmarks.bench_generator
	$(PY) -m benchmarks.bench_validate
	$(PY) -m benchmarks.bench_feast
	$(PY) -m benchmarks.bench_search
	$(PY) -m benchmarks.bench_training
	$(PY) -m benchmarks.bench_monitor
	$(PY) -m benchmarks.bench_serving
	$(PY) -m benchmarks.bench_airflow
	$(PY) -m benchmarks.bench_faults

lint: install
	$(VENV)/bin/ruff check .

lock: install
	( echo "# Frozen working set (uv pip freeze): keeps installs reproducible. Regenerate with \`make lock\`."; \
	  $(UV) pip freeze --python $(PY) | grep -v -i -e '^shopfusion' -e '^-e ' | sed 's/^torch==\(.*\)+cpu/torch==\1/' ) > constraints.txt

clean:
	rm -rf data reports .pytest_cache
