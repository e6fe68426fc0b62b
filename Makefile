# consentflow — every target loops over the workspace modules (a root ./... does
# not cross modules). Only Go is needed for build, test, demo.

SHELL := /bin/bash
GO ?= go
MODULES := $(shell $(GO) list -m -f '{{.Dir}}')
PKGS := $(addsuffix /...,$(MODULES))
BIN := $(CURDIR)/bin
CACHE ?= $(HOME)/.cache/consentflow
STATICCHECK := $(BIN)/staticcheck
STATICCHECK_VERSION := v0.8.2
SERVICES := producer consent-filter anonymizer dataset-sink

.PHONY: all build test vet lint demo check-modules tidy fmt services services-down test-live e2e fault bench clean help

all: build vet test

help: ## list targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 18

build: ## build every module and the binaries into bin/
	$(GO) build $(PKGS)
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/consentflow ./cmd/consentflow
	@for s in $(SERVICES); do $(GO) build -o $(BIN)/$$s ./services/$$s/cmd/$$s || exit 1; done

test: ## unit and embedded-stack tests (no external services)
	$(GO) test -count=1 -timeout 15m $(PKGS)
	$(GO) test -count=1 -tags=$(DEMO_TAGS) -run NotInThisBinary ./pkg/stream ./services/dataset-sink/internal/storage ./services/dataset-sink/internal/lake

vet: ## go vet every module (and the demo's build tags)
	$(GO) vet $(PKGS)
	$(GO) vet -tags=$(DEMO_TAGS) ./pkg/stream ./services/dataset-sink/... ./cmd/consentflow

lint: $(STATICCHECK) ## staticcheck every module
	$(STATICCHECK) $(PKGS)

$(STATICCHECK):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

check-modules: ## each module builds and vets on its own (GOWORK=off, replace directives)
	@set -e; for d in $(MODULES); do \
		echo "== $$d (GOWORK=off)"; \
		(cd $$d && GOWORK=off $(GO) build ./... && GOWORK=off $(GO) vet ./...); \
	done

tidy: ## go mod tidy in every module
	@for d in $(MODULES); do (cd $$d && $(GO) mod tidy) || exit 1; done

fmt:
	gofmt -l -w $(MODULES)

# The demo is compiled with the inliner off (-gcflags=all=-l) and without cgo
# (nothing in it needs cgo; a machine without gcc builds it so anyway): on a
# fresh machine its cold build costs about 40 % less CPU (inlining dominates the
# compile of arrow-go's generic kernels, go-json's encoder, go-redis), and the
# run about one second more. Binaries (make build, the Dockerfile) and tests are
# compiled with the defaults. The demo binary also leaves out what the embedded
# chain never uses — S3 storage, PostgreSQL catalogs and AWS MSK IAM, i.e. the AWS
# SDK and pgx (build tags nos3, nopostgres, nomskiam: 139 of 882 packages); a
# binary built so refuses those settings with an error naming the tag. Nor does
# it carry DWARF debug information (-dwarf=false, -s -w: about 18 % less cold
# CPU; stack traces keep their file:line). DEMO_BUILDFLAGS= restores the
# default build.
DEMO_TAGS := nos3,nopostgres,nomskiam
DEMO_BUILDFLAGS ?= -gcflags='all=-l -dwarf=false' -ldflags='-s -w' -tags=$(DEMO_TAGS)
demo: ## run the whole chain embedded and leave a dataset snapshot under out/demo
	CGO_ENABLED=0 $(GO) run $(DEMO_BUILDFLAGS) ./cmd/consentflow demo --out $(CURDIR)/out/demo

services: ## start real Apache Kafka, Redis (one server and a three-node Cluster), PostgreSQL (and a schema registry if possible) on loopback
	bash scripts/services.sh up

services-down: ## stop what `make services` started
	bash scripts/services.sh down

test-live: ## every test against the services of `make services` (plus the analytics SDK compatibility suite and a real S3 server)
	@test -x $(CACHE)/bin/gofakes3 || GOBIN=$(CACHE)/bin $(GO) install github.com/johannesboyne/gofakes3/cmd/gofakes3@v1.2.0
	@set -o pipefail && eval "$$(bash scripts/services.sh env)" && \
		sdkenv="$$(bash scripts/sdkenv.sh)" && eval "$$sdkenv" && \
		SDK_PYTHON="$$(bash scripts/pyenv.sh | tail -n1)" && export SDK_PYTHON SEGMENT_SDK_PYTHON="$$SDK_PYTHON" && \
		CONSENTFLOW_LIVE=1 $(GO) test -count=1 -p 1 -timeout 40m $(PKGS)

clean:
	rm -rf $(BIN) out

# Targets of the acceptance suite and the benchmarks live beside their code.
-include mk/*.mk
