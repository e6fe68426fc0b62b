#!/usr/bin/env bash
# Stand-in images for `make compose-test` on machines that cannot pull from an image registry.
# TEST INFRASTRUCTURE: built locally, tagged with the upstream names that docker-compose.yml and
# the Dockerfile use (so `FROM` and `image:` resolve without a pull), labelled
# dev.consentflow.standin=<hash of their inputs>, and never pushed or published. See README.md.
#
# Usage: deploy/compose/standins/build.sh [build|list|remove]
#   build   (default) build what is missing or out of date; an image of that name that is not a
#           stand-in (the real one, pulled earlier) is used as is and never replaced
#   list    show each upstream name and whether the real image or a stand-in answers to it
#   remove  delete every stand-in image (then `docker compose pull` gets the real ones)
#
# Settings: CONSENTFLOW_CACHE (default ~/.cache/consentflow; work dir $CACHE/standins),
# DEBIAN_MIRROR (default: the first Debian mirror of this machine's apt sources).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
CACHE=${CONSENTFLOW_CACHE:-$HOME/.cache/consentflow}
WORK=$CACHE/standins
LOGS=$WORK/logs
LABEL=dev.consentflow.standin
DEBIAN_TAG=debian:bookworm
JAVA_TAG=consentflow-standin/java:17-bookworm

say() { printf 'standins: %s\n' "$*" >&2; }
die() { printf 'standins: ERROR: %s\n' "$*" >&2; exit 1; }

# ---- what the project uses ----------------------------------------------------------------------
# compose_image SERVICE: the image: of a service in docker-compose.yml.
compose_image() {
    awk -v svc="$1" '
        /^  [a-z0-9_-]+:[[:space:]]*$/ { cur = $1; sub(":", "", cur); next }
        cur == svc && /^    image:/ { sub(/^    image:[[:space:]]*/, ""); gsub(/"/, ""); print; exit }
    ' "$ROOT/docker-compose.yml"
}
# dockerfile_arg NAME: the default of ARG NAME in the Dockerfile.
dockerfile_arg() { sed -n "s/^ARG $1=//p" "$ROOT/Dockerfile" | head -n1; }

KAFKA_IMAGE=$(compose_image kafka)
REDIS_IMAGE=$(compose_image redis)
REGISTRY_IMAGE=$(compose_image schema-registry)
GO_IMAGE=$(dockerfile_arg GO_IMAGE)
RUNTIME_IMAGE=$(dockerfile_arg RUNTIME_IMAGE)
for v in KAFKA_IMAGE REDIS_IMAGE REGISTRY_IMAGE GO_IMAGE RUNTIME_IMAGE; do
    [[ -n ${!v} ]] || die "cannot find $v in docker-compose.yml / Dockerfile"
done

# ---- helpers ------------------------------------------------------------------------------------
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null; }
standin_hash() { docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null; }

# inputs_hash DIR EXTRA...: what a stand-in is built from (its files, its base, versions).
inputs_hash() {
    local dir=$1; shift
    { (cd "$HERE/$dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum); printf '%s\n' "$@"; } |
        sha256sum | cut -c1-16
}

# up_to_date TAG HASH: 0 when TAG needs no build (the real image, or a stand-in of these inputs).
up_to_date() {
    local tag=$1 want=$2 have
    image_id "$tag" >/dev/null || return 1
    have=$(standin_hash "$tag")
    if [[ -z $have ]]; then say "$tag: the real image is here; using it"; return 0; fi
    if [[ $have == "$want" ]]; then say "$tag: stand-in up to date"; return 0; fi
    say "$tag: stand-in out of date (inputs changed)"
    return 1
}

# build TAG DIR HASH [PREPARE]: docker build of DIR (copied to a scratch context, where PREPARE
# CONTEXT adds large inputs by hard link), labelled as a stand-in.
build() {
    local tag=$1 dir=$2 hash=$3 prepare=${4:-} ctx=$WORK/ctx/$2 t0=$SECONDS log=$LOGS/$2.log
    rm -rf "$ctx"; mkdir -p "$ctx"
    cp -a "$HERE/$dir/." "$ctx/"
    [[ -z $prepare ]] || "$prepare" "$ctx"
    say "$tag: building the stand-in ($dir; log $log)"
    if ! docker buildx build --progress=plain --label "$LABEL=$hash" -t "$tag" "$ctx" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        die "$tag: stand-in build failed (log: $log)"
    fi
    rm -rf "$ctx"
    say "$tag: built in $((SECONDS - t0))s"
}

# link_tree SRC DST: DST gets SRC's files (hard links where the file system allows).
link_tree() { cp -al "$1" "$2" 2>/dev/null || cp -a "$1" "$2"; }

debian_mirror() {
    [[ -n ${DEBIAN_MIRROR:-} ]] && { echo "$DEBIAN_MIRROR"; return; }
    local m
    m=$(grep -h -E '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
        grep -o -E 'https?://[^ ]+/debian/?' | grep -v -- '-security' | head -n1 || true)
    echo "${m:-http://deb.debian.org/debian}"
}

# ---- the images ---------------------------------------------------------------------------------
# Debian 12 minbase from debootstrap, imported as debian:bookworm. The root file system is kept
# as a tarball in the work dir, so a wiped image store re-imports it without the network.
ensure_debian() {
    local mirror hash tar=$WORK/debian-bookworm-minbase.tar rootfs=$WORK/rootfs.tmp t0=$SECONDS
    mirror=$(debian_mirror)
    hash=$(printf 'debootstrap --variant=minbase bookworm %s\n' "$mirror" | sha256sum | cut -c1-16)
    up_to_date "$DEBIAN_TAG" "$hash" && return 0
    if [[ ! -s $tar ]]; then
        if ! command -v debootstrap >/dev/null 2>&1; then
            [[ $(id -u) == 0 ]] || die "debootstrap is missing (apt-get install debootstrap, as root)"
            say "installing debootstrap (Debian package)"
            { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap; } >"$LOGS/apt.log" 2>&1 ||
                { tail -n 20 "$LOGS/apt.log" >&2; die "apt-get install debootstrap failed"; }
        fi
        say "$DEBIAN_TAG: debootstrap --variant=minbase bookworm from $mirror (log $LOGS/debootstrap.log)"
        rm -rf "$rootfs"
        debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$LOGS/debootstrap.log" 2>&1 ||
            { tail -n 20 "$LOGS/debootstrap.log" >&2; die "debootstrap failed (log: $LOGS/debootstrap.log)"; }
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/etc/hostname
        tar --numeric-owner -C "$rootfs" -cf "$tar.tmp" .
        mv "$tar.tmp" "$tar"
        rm -rf "$rootfs"
    fi
    docker import --change 'CMD ["bash"]' --change "LABEL $LABEL=$hash" \
        --message "consentflow test stand-in: Debian 12 minbase (debootstrap)" "$tar" "$DEBIAN_TAG" >/dev/null
    say "$DEBIAN_TAG: imported in $((SECONDS - t0))s"
}

ensure_java() {
    local hash
    hash=$(inputs_hash java "$(image_id "$DEBIAN_TAG")")
    up_to_date "$JAVA_TAG" "$hash" || build "$JAVA_TAG" java "$hash"
}

prepare_golang() { link_tree "$(go env GOROOT)" "$1/go"; }
ensure_golang() {
    local want=${GO_IMAGE##*:} have hash
    command -v go >/dev/null 2>&1 || die "go is needed to build the $GO_IMAGE stand-in"
    have=$(go env GOVERSION); have=${have#go}
    [[ $have == "$want" || $have == "$want".* ]] || die "$GO_IMAGE stand-in: this machine's Go is $have, not $want"
    hash=$(inputs_hash golang "$(image_id "$DEBIAN_TAG")" "go $have")
    up_to_date "$GO_IMAGE" "$hash" || build "$GO_IMAGE" golang "$hash" prepare_golang
}

ensure_distroless() {
    local hash
    hash=$(inputs_hash distroless-static "$(image_id "$DEBIAN_TAG")")
    up_to_date "$RUNTIME_IMAGE" "$hash" || build "$RUNTIME_IMAGE" distroless-static "$hash"
}

ensure_redis() {
    local hash
    hash=$(inputs_hash redis "$(image_id "$DEBIAN_TAG")")
    up_to_date "$REDIS_IMAGE" "$hash" || build "$REDIS_IMAGE" redis "$hash"
}

FETCHED=''
fetch() {
    # The Kafka jars and the Apicurio distribution, from Maven Central (cached by services.sh).
    [[ -n $FETCHED ]] && return 0
    FETCHED=$(KAFKA_VERSION=${KAFKA_IMAGE##*:} bash "$ROOT/scripts/services.sh" fetch) || die "scripts/services.sh fetch failed"
    KAFKA_LIBS=$(sed -n 's/^KAFKA_LIBS=//p' <<<"$FETCHED")
    REGISTRY_APP=$(sed -n 's/^REGISTRY_APP=//p' <<<"$FETCHED")
}
prepare_kafka() { fetch; link_tree "$KAFKA_LIBS" "$1/libs"; }
ensure_kafka() {
    local hash
    hash=$(inputs_hash kafka "$(image_id "$JAVA_TAG")" "kafka ${KAFKA_IMAGE##*:}")
    up_to_date "$KAFKA_IMAGE" "$hash" || build "$KAFKA_IMAGE" kafka "$hash" prepare_kafka
}

prepare_registry() { fetch; link_tree "$REGISTRY_APP" "$1/app"; }
ensure_registry() {
    local hash
    hash=$(inputs_hash schema-registry "$(image_id "$JAVA_TAG")" "apicurio 3.0.9")
    up_to_date "$REGISTRY_IMAGE" "$hash" || build "$REGISTRY_IMAGE" schema-registry "$hash" prepare_registry
}

cmd_build() {
    local t0=$SECONDS
    mkdir -p "$LOGS"
    docker info >/dev/null 2>&1 || die "no Docker daemon answers (deploy/compose/test/docker-env.sh up)"
    ensure_debian
    ensure_golang
    ensure_distroless
    ensure_redis
    ensure_java
    ensure_kafka
    ensure_registry
    say "ready in $((SECONDS - t0))s"
    cmd_list
}

cmd_list() {
    local tag kind
    for tag in "$GO_IMAGE" "$RUNTIME_IMAGE" "$KAFKA_IMAGE" "$REDIS_IMAGE" "$REGISTRY_IMAGE"; do
        if ! image_id "$tag" >/dev/null; then kind="missing"
        elif [[ -n $(standin_hash "$tag") ]]; then kind="STAND-IN (built here; see deploy/compose/standins/README.md)"
        else kind="real image"; fi
        printf 'standins: %-45s %s\n' "$tag" "$kind" >&2
    done
}

cmd_remove() {
    local ids
    ids=$(docker images -q --filter "label=$LABEL" | sort -u)
    [[ -z $ids ]] && { say "no stand-in images"; return 0; }
    docker images --filter "label=$LABEL" --format '{{.Repository}}:{{.Tag}}' | xargs -r docker rmi >/dev/null
    say "removed the stand-in images"
}

case ${1:-build} in
    build) cmd_build ;;
    list) cmd_list ;;
    remove) cmd_remove ;;
    *) echo "usage: $0 [build|list|remove]" >&2; exit 2 ;;
esac
