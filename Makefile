# wirestream — the commands a newcomer needs.
#   make run    start a local Kafka broker and a worker, publish the sample stories, show the output
#   make test   run the whole test suite (unit, agent and integration tests on a real broker)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCAL := .local
WEB_PORT ?= 6066

.PHONY: run test install kafka-jars kafka-start kafka-stop worker-start worker-stop stop lint typecheck check bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dev,bench,multilingual]'
	@touch $(STAMP)

install: $(STAMP)

kafka-jars: install
	$(BIN)/python -c "from streams.kafka_local import LocalKafka; LocalKafka().fetch_jars(print)"

kafka-start: install
	$(BIN)/wirestream kafka start

kafka-stop: install
	$(BIN)/wirestream kafka stop

worker-start: install
	@mkdir -p $(LOCAL)
	@if [ -f $(LOCAL)/worker.pid ] && kill -0 $$(cat $(LOCAL)/worker.pid) 2>/dev/null; then \
	  echo "worker already running (pid $$(cat $(LOCAL)/worker.pid))"; \
	else \
	  WIRESTREAM_WEB_PORT=$(WEB_PORT) nohup $(BIN)/wirestream worker > $(LOCAL)/worker.log 2>&1 & echo $$! > $(LOCAL)/worker.pid; \
	  echo "worker started (pid $$(cat $(LOCAL)/worker.pid)), log: $(LOCAL)/worker.log"; \
	fi
	@for i in $$(seq 1 180); do \
	  if curl -fs http://127.0.0.1:$(WEB_PORT)/readyz >/dev/null 2>&1; then echo "worker ready: http://127.0.0.1:$(WEB_PORT)/readyz"; exit 0; fi; \
	  if ! kill -0 $$(cat $(LOCAL)/worker.pid) 2>/dev/null; then echo "worker exited:"; tail -20 $(LOCAL)/worker.log; exit 1; fi; \
	  sleep 1; \
	done; echo "worker not ready after 180 s:"; tail -20 $(LOCAL)/worker.log; exit 1

worker-stop:
	@if [ -f $(LOCAL)/worker.pid ]; then kill -TERM $$(cat $(LOCAL)/worker.pid) 2>/dev/null || true; \
	  for i in $$(seq 1 40); do kill -0 $$(cat $(LOCAL)/worker.pid) 2>/dev/null || break; sleep 1; done; \
	  rm -f $(LOCAL)/worker.pid; echo "worker stopped"; fi

# The main job: a fresh local broker, the worker, the sample stories (and the seed story when
# ../shared/seed is there), then the records that came out.
run: install
	@$(MAKE) --no-print-directory worker-stop
	$(BIN)/wirestream kafka stop
	$(BIN)/wirestream kafka reset
	$(BIN)/wirestream kafka start
	$(BIN)/wirestream topics
	@$(MAKE) --no-print-directory worker-start
	$(BIN)/python samples/seed_story.py > $(LOCAL)/seed.jsonl
	$(BIN)/wirestream produce samples/stories.jsonl $(LOCAL)/seed.jsonl --partition 0
	@echo "--- output topics (one line per record; full JSON: $(BIN)/wirestream consume) ---"
	$(BIN)/wirestream consume --summary --expect $$(cat samples/stories.jsonl $(LOCAL)/seed.jsonl | grep -c .) --timeout 120
	@echo "--- threads (stories.threads: the last summary of each thread) ---"
	$(BIN)/wirestream consume --topic $${WIRESTREAM_TOPIC_THREADS:-stories.threads} --summary --latest --idle 3
	@echo "--- metrics: http://127.0.0.1:$(WEB_PORT)/metrics   health: /healthz /readyz ---"
	@curl -fs http://127.0.0.1:$(WEB_PORT)/metrics | grep -E '^wirestream_(stories_emitted|duplicates|dead_letters)_total' || true
	@echo "worker and broker keep running; stop them with: make stop"

stop: worker-stop kafka-stop

# The whole test suite. Integration tests start their own broker on port 19092.
test: install kafka-jars
	$(BIN)/python -m pytest -q -p no:cacheprovider --timeout 600 $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

check: lint typecheck

# Benchmarks (docs/benchmarks.md): ≈ 16 min; make bench BENCH_ARGS=--quick for ≈ 4 min. Results: .local/bench/
bench: install
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

clean: stop
	rm -rf $(LOCAL) $(VENV)
