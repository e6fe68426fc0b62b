# End-to-end acceptance (`make e2e`) and fault injection (`make fault`) against the
# real services of scripts/services.sh; see e2e/README.md. Included by the Makefile
# (include mk/*.mk). Both start the services when they are not running (`up` is
# idempotent) and never stop them. Run folders: out/e2e/<run>/.
E2E_PY = bash scripts/pyenv.sh | tail -n1
E2E_ICEBERG_PY = bash scripts/iceberg-pyenv.sh | tail -n1
E2E_GOTEST = $(GO) test -count=1 -v -p 1

.PHONY: e2e fault mutants

e2e: build ## end-to-end acceptance: four services as processes, real Kafka/Redis/registry (~1-2 min)
	@bash scripts/services.sh up >/dev/null
	@cd e2e && eval "$$(bash ../scripts/services.sh env)" && \
		CONSENTFLOW_E2E=1 CONSENTFLOW_BIN=$(BIN) E2E_OUT=$(CURDIR)/out/e2e E2E_PYTHON="$$(cd .. && $(E2E_PY))" \
		E2E_ICEBERG_PYTHON="$$(cd .. && $(E2E_ICEBERG_PY))" \
		$(E2E_GOTEST) -timeout 15m -run '^(TestOracleRules|TestE2E|TestDemoReadingExamples)$$' .

fault: build ## e2e while services are SIGKILLed, Redis flushed/restarted, Kafka restarted, poison injected (~4-5 min)
	@bash scripts/services.sh up >/dev/null
	@cd e2e && eval "$$(bash ../scripts/services.sh env)" && \
		CONSENTFLOW_E2E=1 CONSENTFLOW_FAULT=1 CONSENTFLOW_BIN=$(BIN) E2E_OUT=$(CURDIR)/out/e2e E2E_PYTHON="$$(cd .. && $(E2E_PY))" \
		E2E_ICEBERG_PYTHON="$$(cd .. && $(E2E_ICEBERG_PY))" E2E_SPARK=0 \
		$(E2E_GOTEST) -timeout 20m -run '^TestFault$$' .

mutants: build ## mutation check: each planted bug (e2e/mutants.py) must make TestE2E fail (~1 min per mutant)
	@bash scripts/services.sh up >/dev/null
	@eval "$$(bash scripts/services.sh env)" && E2E_PYTHON="$$($(E2E_PY))" && export E2E_PYTHON && \
		E2E_ICEBERG_PYTHON="$$($(E2E_ICEBERG_PY))" && export E2E_ICEBERG_PYTHON && export E2E_SPARK=0 && \
		python3 e2e/mutants.py $(MUTANTS_ARGS)
