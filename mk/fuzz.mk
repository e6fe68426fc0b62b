# make fuzz: every Go fuzz target (found by scripts/fuzz.sh) for FUZZTIME each. CI runs it.
FUZZTIME ?= 15s

.PHONY: fuzz

fuzz: ## fuzz every decoder of outside input for FUZZTIME each (default 15s: 17 targets, ~6 min with compiles)
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh
