# make bench: throughput and latency of every stage and end to end against the real
# services (scripts/services.sh), each next to a baseline measured in the same run.
# Writes bench/results/<run>.json (+ bench/results/<run>/: plots, CPU profiles), prints
# the run's table and regenerates BENCHMARKS.md from every run (bench/cmd/benchmd).
# Measured on 2 cores: a full run took 3.7–8.4 min (median 4.9, 30 runs), budget 14 min
# (the run aborts what is left after BENCH_BUDGET).
#
#   make bench                       # everything
#   make bench BENCH_ARGS='-only=e2e' # one phase: micro,redactor,perf,ingest,stages,sink,e2e,profile (prep always runs)

BENCH_BIN := $(CURDIR)/bin/bench
BENCH_BUDGET ?= 14m
BENCH_ARGS ?=
BENCH_SERVICES := producer consent-filter anonymizer dataset-sink
BENCH_MATPLOTLIB := matplotlib==3.11.2

.PHONY: bench bench-build bench-plots

bench-build:
	@mkdir -p $(BENCH_BIN)
	@for s in $(BENCH_SERVICES); do $(GO) build -o $(BENCH_BIN)/$$s ./services/$$s/cmd/$$s || exit 1; done
	$(GO) build -o $(BENCH_BIN)/cfbench ./bench/cmd/cfbench
	$(GO) build -o $(BENCH_BIN)/cfsvc ./bench/cmd/cfsvc
	$(GO) test -c -o $(BENCH_BIN)/redact.test ./pkg/redact
	$(GO) test -c -o $(BENCH_BIN)/anonymizer.test ./services/anonymizer
	$(GO) test -c -o $(BENCH_BIN)/dataset-sink.test ./services/dataset-sink

bench: bench-build ## benchmarks against the real services (make services first); see BENCHMARKS.md
	@bash scripts/services.sh status >/dev/null 2>&1 || bash scripts/services.sh up
	@eval "$$(bash scripts/services.sh env)" && \
		timeout --signal=INT $$(( $$(echo $(BENCH_BUDGET) | tr -d m) * 60 + 60 )) \
		$(BENCH_BIN)/cfbench -bin $(BENCH_BIN) -cfsvc $(BENCH_BIN)/cfsvc -testbin $(BENCH_BIN) \
			-results bench/results -budget $(BENCH_BUDGET) $(BENCH_ARGS); \
		status=$$?; $(MAKE) --no-print-directory bench-plots; $(GO) run ./bench/cmd/benchmd; exit $$status

bench-plots: ## PNG plots of the newest bench/results/*.json
	@PY=$$(bash scripts/pyenv.sh | tail -n1) && \
		{ "$$PY" -c 'import matplotlib' 2>/dev/null || "$$PY" -m pip install -q $(BENCH_MATPLOTLIB); } && \
		J=$$(ls -t bench/results/*.json | head -n1) && "$$PY" bench/plot.py $$J && "$$PY" bench/report.py $$J
