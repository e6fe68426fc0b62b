#!/usr/bin/env bash
# Third-party Iceberg readers for consentflow's checks: a virtualenv of its own (the project venv of
# scripts/pyenv.sh pins duckdb 2.0.1 for other checks; DuckDB's offline iceberg extension wheels exist
# for duckdb 1.4.4), plus Apache Iceberg's Spark runtime jar from Maven Central.
#
# Usage: scripts/iceberg-pyenv.sh   -> last line of stdout is the venv's python
#   PY=$(bash scripts/iceberg-pyenv.sh | tail -n1)
#   ICEBERG_SPARK_JAR=$(cat ~/.cache/consentflow/iceberg-jars/path)   (written by this script)
#
#   CONSENTFLOW_CACHE  cache dir (default ~/.cache/consentflow): venv in iceberg-venv/, jar in iceberg-jars/
#   ICEBERG_SPARK=0    skip pyspark and the jar (pyiceberg, DuckDB and datasets only)
#
# Idempotent: a stamp records the pins; an up-to-date venv only prints its path.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${CONSENTFLOW_CACHE:-$HOME/.cache/consentflow}
VENV=$CACHE/iceberg-venv
JARS=$CACHE/iceberg-jars
PYTHON=${PYTHON:-python3}
SPARK=${ICEBERG_SPARK:-1}

PACKAGES=(
    pyiceberg[sql-sqlite,sql-postgres,pyarrow]==0.12.0   # SQL catalog reader (sqlite and PostgreSQL)
    duckdb==1.4.4                                        # the DuckDB whose extension wheels exist
    duckdb-ext-iceberg==1.4.4.20260205                   # iceberg_scan, offline
    duckdb-ext-avro==1.4.4.20260205                      # Iceberg manifests are Avro
    datasets==5.2.0                                      # Hugging Face datasets on a pulled tag
)
if [[ $SPARK == 1 ]]; then
    PACKAGES+=(pyspark==4.0.1)                           # Spark 4.0: iceberg-spark-runtime-4.0_2.13
fi

log() { printf 'iceberg-pyenv: %s\n' "$*" >&2; }
die() { printf 'iceberg-pyenv: ERROR: %s\n' "$*" >&2; exit 1; }

stamp_want=$(printf '%s\n' "${PACKAGES[@]}" "spark=$SPARK" | cat - "$ROOT/deploy/local/iceberg/pom.xml" | sha256sum | cut -c1-32)
stamp=$VENV/.consentflow-iceberg-pyenv
if [[ -x $VENV/bin/python && -f $stamp && $(<"$stamp") == "$stamp_want" ]]; then
    log "venv up to date: $VENV"
    echo "$VENV/bin/python"
    exit 0
fi
t0=$(date +%s)
mkdir -p "$CACHE"
[[ -x $VENV/bin/python ]] || "$PYTHON" -m venv "$VENV" || die "$PYTHON -m venv failed (apt-get install python3-venv)"
log "installing ${PACKAGES[*]} (log: $CACHE/iceberg-pyenv-pip.log)"
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q "${PACKAGES[@]}" >"$CACHE/iceberg-pyenv-pip.log" 2>&1 ||
    { tail -n 20 "$CACHE/iceberg-pyenv-pip.log" >&2; die "pip install failed"; }
"$VENV/bin/python" - <<'PY' || die "packages do not import, or the DuckDB extensions are missing"
import os, sysconfig, pyiceberg, duckdb, datasets
d = os.path.join(sysconfig.get_paths()["purelib"], "duckdb_ext", "extensions", "v" + duckdb.__version__, "linux_amd64")
assert all(os.path.exists(os.path.join(d, e + ".duckdb_extension")) for e in ("iceberg", "avro")), d
PY
if [[ $SPARK == 1 ]]; then
    command -v mvn >/dev/null 2>&1 || die "mvn not found (apt-get install maven)"
    log "fetching iceberg-spark-runtime with Maven into $JARS (log: $CACHE/iceberg-mvn.log)"
    rm -rf "$JARS.tmp" && mkdir -p "$JARS.tmp"
    mvn -B -q -f "$ROOT/deploy/local/iceberg/pom.xml" dependency:copy-dependencies -DoutputDirectory="$JARS.tmp" \
        >"$CACHE/iceberg-mvn.log" 2>&1 || { tail -n 20 "$CACHE/iceberg-mvn.log" >&2; die "Maven could not fetch iceberg-spark-runtime"; }
    rm -rf "$JARS" && mv "$JARS.tmp" "$JARS"
    ls "$JARS"/iceberg-spark-runtime-*.jar >"$JARS/path" || die "no iceberg-spark-runtime jar in $JARS"
fi
echo "$stamp_want" >"$stamp"
log "ready in $(($(date +%s) - t0))s: $VENV"
echo "$VENV/bin/python"
