#!/usr/bin/env bash
# Docker for `make compose-test`, on a Debian machine without systemd (test infrastructure).
#
# Usage: deploy/compose/test/docker-env.sh up|down|status
#   up      install Docker Engine from Debian (docker.io) when dockerd is missing; start dockerd
#           when no daemon answers (recording that this script started it); build the Compose
#           and Buildx CLI plugins from the Go module proxy when `docker compose` / `docker buildx`
#           are missing or too old (pinned versions, binaries cached under $CACHE).
#   down    stop dockerd if, and only if, `up` started it (by its recorded pid).
#   status  print what is there; exit 0 when a daemon answers.
#
# Settings: CONSENTFLOW_CACHE (default ~/.cache/consentflow), COMPOSE_PLUGIN_VERSION,
# BUILDX_PLUGIN_VERSION, DOCKERD_START_TIMEOUT (s, 90), DOCKERD_STOP_TIMEOUT (s, 60).
set -euo pipefail

CACHE=${CONSENTFLOW_CACHE:-$HOME/.cache/consentflow}
STATE=$CACHE/compose-test
# Pinned plugin versions. Compose v5.6.0 needs Go >= 1.26.8 to build (v5.7.x needs 1.26.10);
# Buildx v0.38.2 gives `docker build` and Compose's builds the daemon's BuildKit.
COMPOSE_PLUGIN_VERSION=${COMPOSE_PLUGIN_VERSION:-v5.6.0}
BUILDX_PLUGIN_VERSION=${BUILDX_PLUGIN_VERSION:-v0.38.2}
# Oldest plugins the test accepts when they are already installed: Compose 2.24 (`!override`
# and `!reset` in the test's override file), Buildx 0.17 (Compose delegates builds to Bake).
COMPOSE_MIN=2.24.0
BUILDX_MIN=0.17.0
DOCKERD_START_TIMEOUT=${DOCKERD_START_TIMEOUT:-90}
DOCKERD_STOP_TIMEOUT=${DOCKERD_STOP_TIMEOUT:-60}
PLUGINS=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins

say() { printf 'docker-env: %s\n' "$*" >&2; }
die() { printf 'docker-env: ERROR: %s\n' "$*" >&2; exit 1; }

# version_ge A B: A >= B for dotted versions (a leading v and any suffix are ignored).
version_ge() {
    local a=${1#v} b=${2#v}
    a=${a%%[-+]*}; b=${b%%[-+]*}
    [[ $(printf '%s\n%s\n' "$b" "$a" | sort -V | head -n1) == "$b" ]]
}

apt_install() {
    [[ $(id -u) == 0 ]] || die "need root to apt-get install $* (or install it yourself)"
    say "apt-get install $* (log: $STATE/apt.log)"
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; } \
        >"$STATE/apt.log" 2>&1 || { tail -n 20 "$STATE/apt.log" >&2; die "apt-get install $* failed"; }
}

daemon_up() { timeout 10 docker info >/dev/null 2>&1; }

ensure_engine() {
    if command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1; then return 0; fi
    # docker.io brings dockerd, containerd, runc, iptables and a docker CLI.
    apt_install docker.io
    command -v dockerd >/dev/null 2>&1 || die "docker.io installed but dockerd is not on PATH"
}

# our_dockerd: the pid of the dockerd this script started, if it still runs.
our_dockerd() {
    local pid
    [[ -s $STATE/dockerd.pid ]] || return 1
    pid=$(<"$STATE/dockerd.pid")
    [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q '^dockerd ' && { echo "$pid"; return 0; }
    rm -f "$STATE/dockerd.pid"
    return 1
}

ensure_daemon() {
    if daemon_up; then
        if our_dockerd >/dev/null; then say "dockerd (started by this script, pid $(our_dockerd)) is running"
        else say "a Docker daemon is running (not started by this script: it will be left alone)"; fi
        return 0
    fi
    local pid t0=$SECONDS
    say "starting dockerd (log: $STATE/dockerd.log)"
    # Its own session, so it outlives this script; `down` stops it by this pid.
    setsid dockerd >>"$STATE/dockerd.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$STATE/dockerd.pid"
    until daemon_up; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$STATE/dockerd.log" >&2
            rm -f "$STATE/dockerd.pid"
            die "dockerd exited during start-up (log: $STATE/dockerd.log)"
        fi
        ((SECONDS - t0 < DOCKERD_START_TIMEOUT)) || { tail -n 30 "$STATE/dockerd.log" >&2; die "dockerd does not answer after ${DOCKERD_START_TIMEOUT}s"; }
        sleep 0.5
    done
    say "dockerd $(docker version -f '{{.Server.Version}}' 2>/dev/null) ready (pid $pid) in $((SECONDS - t0))s"
}

stop_daemon() {
    local pid t0=$SECONDS
    if ! pid=$(our_dockerd); then say "dockerd: not started by this script; nothing to stop"; return 0; fi
    say "stopping dockerd (pid $pid, started by this script)"
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null && ((SECONDS - t0 < DOCKERD_STOP_TIMEOUT)); do sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
        say "dockerd still running ${DOCKERD_STOP_TIMEOUT}s after SIGTERM; SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$STATE/dockerd.pid"
    say "dockerd stopped in $((SECONDS - t0))s"
}

# build_plugin NAME MODULE VERSION PKG VERSIONVAR: build a CLI plugin from the module's source (the Go module
# proxy's copy) into $CACHE/docker-plugins/NAME-VERSION/docker-NAME, once.
build_plugin() {
    local name=$1 module=$2 version=$3 pkg=$4 versionvar=$5 out dir src t0=$SECONDS
    out=$CACHE/docker-plugins/$name-$version/docker-$name
    # The version is stamped in (-X), so `docker compose version` tells what runs.
    if [[ -x $out ]]; then echo "$out"; return 0; fi
    command -v go >/dev/null 2>&1 || die "go is needed to build the docker $name plugin"
    say "building docker-$name $version from $module@$version (once; cached in ${out%/*})"
    # `go install module@version` is refused (exclude/replace directives in their go.mod): build
    # inside a copy of the module's source instead, which honours them.
    dir=$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [[ -n $dir && -d $dir ]] || die "go mod download $module@$version gave no source directory"
    src=$CACHE/docker-plugins/src-$name-$version
    rm -rf "$src"; mkdir -p "${out%/*}"
    cp -r "$dir" "$src"; chmod -R u+w "$src"
    if ! (cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w -X $module/$versionvar=$version" -o "$out.tmp" "$pkg") >"$STATE/build-$name.log" 2>&1; then
        tail -n 30 "$STATE/build-$name.log" >&2
        die "building docker-$name failed (log: $STATE/build-$name.log)"
    fi
    mv "$out.tmp" "$out"; rm -rf "$src"
    say "built docker-$name $version in $((SECONDS - t0))s"
    echo "$out"
}

# install_plugin NAME BINARY: link it into the user's plugin dir unless something is there already.
install_plugin() {
    local name=$1 bin=$2 dst=$PLUGINS/docker-$1
    mkdir -p "$PLUGINS"
    if [[ -e $dst && ! -L $dst ]]; then
        die "$dst exists but is too old or broken (need $name >= the minimum above); remove it or update it"
    fi
    ln -sfn "$bin" "$dst"
    say "docker $name -> $bin"
}

ensure_plugins() {
    local v
    v=$(docker compose version --short 2>/dev/null || true)
    if [[ -z $v ]] || ! version_ge "$v" "$COMPOSE_MIN"; then
        [[ -n $v ]] && say "docker compose $v is older than $COMPOSE_MIN"
        install_plugin compose "$(build_plugin compose github.com/docker/compose/v5 "$COMPOSE_PLUGIN_VERSION" ./cmd internal.Version)"
    fi
    v=$(docker buildx version 2>/dev/null | awk '{print $2}' || true)
    if [[ -z $v ]] || ! version_ge "$v" "$BUILDX_MIN"; then
        [[ -n $v ]] && say "docker buildx $v is older than $BUILDX_MIN"
        install_plugin buildx "$(build_plugin buildx github.com/docker/buildx "$BUILDX_PLUGIN_VERSION" ./cmd/buildx version.Version)"
    fi
    say "$(docker compose version 2>&1 | head -n1); $(docker buildx version 2>&1 | head -n1)"
}

mkdir -p "$STATE"
case ${1:-} in
    up) ensure_engine; ensure_daemon; ensure_plugins ;;
    down) stop_daemon ;;
    status)
        if pid=$(our_dockerd); then echo "dockerd: running, started by docker-env.sh (pid $pid)"; fi
        daemon_up && { docker version -f 'engine {{.Server.Version}}, client {{.Client.Version}}'; exit 0; }
        echo "no Docker daemon answers"; exit 3 ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
