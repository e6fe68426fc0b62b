# consentflow container image.
#
# ONE image holds all five binaries (producer, consent-filter, anonymizer,
# dataset-sink and the consentflow CLI); docker-compose and the Kubernetes
# manifests pick the process with `command:`. Why one image rather than four:
#   - the services share pkg/, schemas/ and one dependency graph (go.work), so one
#     build compiles everything once and all binaries are guaranteed to come from
#     the same commit;
#   - one tag to pin, scan, sign and promote; no version skew between stages;
#   - the CLI (`consentflow topics`, `consentflow snapshot pull`) ships alongside
#     the services, so the topics Job and debugging need no second image.
# The cost is ~4 extra static binaries per container (a few tens of MB), which is
# cheap next to the operational simplicity.
#
# The final stage is distroless static: no shell, no package manager, nothing but the
# static binaries, CA certificates, time zones and the nonroot user (uid/gid 65532).
# Container healthchecks need no HTTP client inside: each service binary carries its
# own probe, `<binary> healthcheck [PATH]` (GET PATH, default /readyz, on its ops port).
#
# Build:  docker build -t consentflow/consentflow:dev .
# No `# syntax=` line on purpose: the Dockerfile frontend built into the engine's
# BuildKit suffices, so a build pulls no frontend image (it works offline, once the
# two base images are present).
#
# Behind a TLS-intercepting proxy (the build downloads Go modules over HTTPS), give
# the build your CA bundle as a secret. It is mounted only while modules download and
# is never written to a layer, so the published image carries only the CA bundle of
# its base:
#   docker build --secret id=build_ca,src=/etc/ssl/certs/ca-certificates.crt -t consentflow/consentflow:dev .
# (docker compose: deploy/compose/build-ca.yml).
#
# Static checks keeping this file honest: cmd/consentflow/internal/deploycheck.

ARG GO_IMAGE=golang:1.26
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${GO_IMAGE} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-trimpath

# Workspace mode: go.work names every module, so every module's go.mod (and
# go.sum where it exists; the [m] glob tolerates a missing one) must be present
# before `go mod download`. A check in deploycheck fails when a `use` directory of
# go.work is missing here.
COPY go.work go.work.su[m] ./
COPY bench/go.mod bench/go.su[m] ./bench/
COPY cmd/consentflow/go.mod cmd/consentflow/go.su[m] ./cmd/consentflow/
COPY e2e/go.mod e2e/go.su[m] ./e2e/
COPY pkg/go.mod pkg/go.su[m] ./pkg/
COPY schemas/go.mod schemas/go.su[m] ./schemas/
COPY services/anonymizer/go.mod services/anonymizer/go.su[m] ./services/anonymizer/
COPY services/consent-filter/go.mod services/consent-filter/go.su[m] ./services/consent-filter/
COPY services/dataset-sink/go.mod services/dataset-sink/go.su[m] ./services/dataset-sink/
COPY services/producer/go.mod services/producer/go.su[m] ./services/producer/
# The only step that reaches the network. The optional build_ca secret replaces the
# base image's CA bundle for this step only (see above).
RUN --mount=type=secret,id=build_ca,target=/etc/ssl/certs/ca-certificates.crt \
    go mod download

COPY . .
# GOPROXY=off: everything the build needs was downloaded above (a missing module
# fails here, loudly, instead of a silent download without the build CA).
RUN --mount=type=cache,target=/root/.cache/go-build \
    mkdir -p /out/bin /out/data/datasets && \
    GOPROXY=off go build -ldflags="-s -w" -o /out/bin/ \
        ./cmd/consentflow \
        ./services/producer/cmd/producer \
        ./services/consent-filter/cmd/consent-filter \
        ./services/anonymizer/cmd/anonymizer \
        ./services/dataset-sink/cmd/dataset-sink

FROM ${RUNTIME_IMAGE}
COPY --from=build /out/bin/ /usr/local/bin/
# /data/datasets owned by 65532: a named volume mounted there starts with that owner
# (Docker copies the ownership of the image directory into a new, empty volume). No
# VOLUME instruction: every service shares this image and only the sink needs storage.
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /data
USER 65532:65532
# Ingest API, consent API, dataset API; ops ports (/healthz /readyz /metrics)
# 9101-9104. Each binary listens only where its *_HTTP_ADDR / OPS_ADDR say.
EXPOSE 8080 8081 8083 9101 9102 9103 9104
CMD ["consentflow", "--help"]
