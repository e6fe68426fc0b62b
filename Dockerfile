# syntax=docker/dockerfile:1
#
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
# The final stage is alpine (pinned) rather than distroless because compose
# healthchecks need an HTTP client inside the container: busybox `wget` probes
# /readyz on the ops port. Everything runs as the unprivileged uid/gid 65532.
#
# Build:  docker build -t consentflow/consentflow:dev .
# Static checks keeping this file honest: cmd/consentflow/internal/deploycheck.

ARG GO_IMAGE=golang:1.26
ARG RUNTIME_IMAGE=alpine:3.20.3

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
RUN go mod download

COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    mkdir -p /out && \
    go build -ldflags="-s -w" -o /out/ \
        ./cmd/consentflow \
        ./services/producer/cmd/producer \
        ./services/consent-filter/cmd/consent-filter \
        ./services/anonymizer/cmd/anonymizer \
        ./services/dataset-sink/cmd/dataset-sink

FROM ${RUNTIME_IMAGE}
# ca-certificates (S3 over TLS) and busybox wget come with the base image; no
# package manager run, so the image is reproducible from its pinned base.
RUN addgroup -S -g 65532 consentflow && \
    adduser -S -D -H -u 65532 -G consentflow -s /sbin/nologin consentflow && \
    mkdir -p /data/datasets /etc/consentflow && \
    chown -R 65532:65532 /data
COPY --from=build /out/ /usr/local/bin/
# A named volume mounted at /data/datasets starts owned by 65532 (Docker copies
# the ownership of the image directory into a new, empty volume). No VOLUME
# instruction: every service shares this image and only the sink needs storage.
WORKDIR /data
USER 65532:65532
# Ingest API, consent API, dataset API; ops ports (/healthz /readyz /metrics)
# 9101-9104. Each binary listens only where its *_HTTP_ADDR / OPS_ADDR say.
EXPOSE 8080 8081 8083 9101 9102 9103 9104
CMD ["consentflow", "--help"]
