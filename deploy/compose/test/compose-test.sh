#!/usr/bin/env bash
# make compose-test: the README's "Deploy with docker-compose" guide, run as written, against
# the real docker-compose.yml and Dockerfile; then a restart of the sink that must lose nothing.
#
#   1. Docker: Engine from Debian when missing, dockerd started when none runs (and stopped at
#      the end only if started here), Compose/Buildx plugins built when missing (docker-env.sh).
#   2. Images that cannot be pulled here: stand-ins built locally (../standins/build.sh).
#   3. The guide: every ```sh block of the README's compose section is marked
#      <!-- compose-test: NAME --> or <!-- compose-test: skip (why) -->; the blocks are
#      extracted from README.md and run in order, in one bash shell (so the tokens of step 1
#      reach the curls of step 4), in a scratch copy of the repository. Between blocks the
#      test checks what the guide promises (every service healthy, the topics job exited 0,
#      the event accepted, a decision recorded, the snapshot's rows read with pyarrow and
#      DuckDB).
#   4. Restart: more events, `docker compose restart dataset-sink` (the README's block) while
#      rows are in the sink's open file, more events, a SIGKILL of the sink; the final snapshot
#      must hold every accepted event exactly once and none of a user without consent.
#   5. The guide's stop block (`docker compose down -v`).
# On failure: `docker compose ps -a` and the logs of every service that is not healthy (the
# last lines of the others), then the stack is removed.
#
# What differs from a user's run, all printed when it applies: COMPOSE_FILE adds
# compose.test.yml (APIs on 127.0.0.1:25080/25081/25083, nothing else published; the blocks'
# localhost:808x are rewritten to match) and ../build-ca.yml (this machine's CA bundle for the
# image build's module download); COMPOSE_PROJECT_NAME=consentflow-compose-test; curl gets
# max-time 60 s (CURL_HOME); `sudo` runs the command directly when running as root without sudo.
#
# Settings: COMPOSE_TEST_TIMEOUT (whole run, seconds, default 2700), CONSENTFLOW_CACHE,
# COMPOSE_TEST_KEEP=1 (leave the stack running after a failure, for a look; `docker compose
# down -v` in the scratch repository removes it).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
CACHE=${CONSENTFLOW_CACHE:-$HOME/.cache/consentflow}
RUN=$CACHE/compose-test/run
REPO=$RUN/repo
LOGS=$RUN/logs
TIMEOUT=${COMPOSE_TEST_TIMEOUT:-2700}
PROJECT=consentflow-compose-test
# The README's blocks that run, in the README's order.
BLOCKS=(configure secrets keyring start health first-event decision snapshot restart stop)

# The time budget: the whole run, cleanup included, under timeout(1), which signals the run's
# process group (every command it started) with TERM when the budget is spent; the trap
# below then reports and removes the stack. KILL 180 s later if even that hangs.
if [[ -z ${COMPOSE_TEST_UNDER_TIMEOUT:-} ]]; then
    export COMPOSE_TEST_UNDER_TIMEOUT=1
    exec timeout --kill-after=180 "$TIMEOUT" bash "$0" "$@"
fi

T0=$SECONDS
STAGE=setup
say() { printf 'compose-test: %s\n' "$*"; }
die() { printf 'compose-test: FAILED: %s\n' "$*" >&2; exit 1; }
stage() { STAGE=$1; printf '\n=== compose-test: %s (t+%ss)\n' "$1" "$((SECONDS - T0))"; }

# ---- the README's blocks ------------------------------------------------------------------------
# extract_blocks: README.md's compose section -> $RUN/readme/<name>.sh (skipped ones to skip-*.sh);
# every ```sh block there must be marked; the runnable ones must be exactly $BLOCKS, in order.
extract_blocks() {
    rm -rf "$RUN/readme"; mkdir -p "$RUN/readme"
    awk -v out="$RUN/readme" '
        /^## / { insec = ($0 == "## Deploy with docker-compose") }
        !insec { next }
        /^<!-- compose-test: / {
            mark = $0; sub(/^<!-- compose-test: /, "", mark); sub(/ *-->$/, "", mark)
            pending = 1; next
        }
        /^```sh$/ {
            if (!pending) { printf "README.md:%d: a ```sh block of the compose guide without <!-- compose-test: NAME --> above it\n", NR > "/dev/stderr"; bad = 1 }
            if (mark ~ /^skip/) { n++; file = out "/skip-" n ".sh" } else { file = out "/" mark ".sh"; print mark > (out "/ORDER") }
            inblock = 1; pending = 0; next
        }
        inblock && /^```$/ { inblock = 0; close(file); next }
        inblock { print > file; next }
        pending && NF { printf "README.md:%d: <!-- compose-test: %s --> is not followed by a ```sh block\n", NR, mark > "/dev/stderr"; bad = 1; pending = 0 }
        END { exit bad }
    ' "$ROOT/README.md" || die "README.md: the compose guide's blocks are not all marked (see above)"
    local want got
    want=$(printf '%s\n' "${BLOCKS[@]}")
    got=$(cat "$RUN/readme/ORDER" 2>/dev/null || true)
    [[ $got == "$want" ]] || die "README.md's compose guide has the blocks
$(sed 's/^/    /' <<<"$got")
but this test runs
$(sed 's/^/    /' <<<"$want")
(a block was added, removed, renamed or moved: update BLOCKS and the checks in $0)"
}

# Host ports: the README says localhost:<container port>; compose.test.yml publishes each API on
# 127.0.0.1:<test port>. The rewrite rules come from compose.test.yml itself.
PORT_REWRITES=()
read_port_map() {
    local line host container
    while IFS= read -r line; do
        host=$(cut -d: -f2 <<<"$line"); container=$(cut -d: -f3 <<<"$line")
        PORT_REWRITES+=(-e "s#http://localhost:$container\\b#http://localhost:$host#g")
        say "README commands: http://localhost:$container -> http://localhost:$host (compose.test.yml)"
    done < <(grep -o '127\.0\.0\.1:[0-9]*:[0-9]*' "$HERE/compose.test.yml")
    ((${#PORT_REWRITES[@]} > 0)) || die "no 127.0.0.1:HOST:CONTAINER ports in compose.test.yml"
}

BLOCK_LOG=''
# run_block NAME: run one README block in this shell (its variables stay), output to the
# terminal and to $LOGS/<name>.log (BLOCK_LOG).
run_block() {
    local name=$1 src=$RUN/readme/$1.sh file=$RUN/readme/$1.run.sh t0=$SECONDS
    stage "README block '$name'"
    sed "${PORT_REWRITES[@]}" "$src" >"$file"
    if ! cmp -s "$src" "$file"; then say "(run with the test's host ports)"; fi
    sed 's/^/    | /' "$file"
    BLOCK_LOG=$LOGS/$name.log
    # The block runs under this script's `set -euo pipefail`: a failing command fails the test.
    # shellcheck disable=SC1090
    source "$file" > >(tee "$BLOCK_LOG") 2>&1
    wait $! 2>/dev/null || true
    say "block '$name' done in $((SECONDS - t0))s"
}

# ---- compose helpers ----------------------------------------------------------------------------
dc() { docker compose "$@"; }

# ps_json: one JSON object per container of the project.
ps_json() { dc ps -a --format json | python3 -c '
import json, sys
data = sys.stdin.read().strip()
items = json.loads(data) if data.startswith("[") else [json.loads(l) for l in data.splitlines() if l.strip()]
for c in items:
    print(json.dumps({"service": c["Service"], "state": c["State"], "health": c.get("Health", ""), "exit": c.get("ExitCode", 0)}))
'; }

# check_all_healthy: every long-running service running and healthy, topics exited 0.
check_all_healthy() {
    local bad
    bad=$(ps_json | python3 -c '
import json, sys
want = {"kafka", "redis", "schema-registry", "topics", "producer", "consent-filter", "anonymizer", "dataset-sink"}
seen = set()
for line in sys.stdin:
    c = json.loads(line); seen.add(c["service"])
    if c["service"] == "topics":
        ok = c["state"] == "exited" and c["exit"] == 0
    else:
        ok = c["state"] == "running" and c["health"] == "healthy"
    if not ok:
        print("%s: state %s, health %s, exit code %s" % (c["service"], c["state"], c["health"] or "-", c["exit"]))
for s in sorted(want - seen):
    print("%s: no container" % s)
')
    [[ -z $bad ]] || die "not every service is healthy:
$bad"
    say "every service is healthy; the topics job exited 0"
}

# service_metric SERVICE NAME: the value of an unlabelled metric of a service (0 when absent).
service_metric() {
    dc exec -T "$1" "$1" healthcheck /metrics | awk -v m="$2" '$1 == m { v = $2 } END { print v + 0 }'
}

# curated_count: records in events.curated (sum of the partitions' end offsets).
curated_count() {
    dc exec -T kafka /opt/kafka/bin/kafka-get-offsets.sh --bootstrap-server localhost:9092 --topic events.curated 2>/dev/null |
        awk -F: '{ n += $3 } END { print n + 0 }'
}

# wait_until DESCRIPTION SECONDS CMD...: poll CMD (every 3 s) until it succeeds.
wait_until() {
    local what=$1 limit=$2 t0=$SECONDS; shift 2
    until "$@"; do
        ((SECONDS - t0 < limit)) || die "$what: not after ${limit}s"
        sleep 3
    done
    say "$what (after $((SECONDS - t0))s)"
}

curated_at_least() { local n; n=$(curated_count); say "  events.curated holds $n records (want >= $1)"; ((n >= $1)); }
sink_received_at_least() {
    local n
    n=$(dc exec -T dataset-sink dataset-sink healthcheck /metrics |
        awk '$1 == "consentflow_stage_records_in_total{stage=\"dataset-sink\"}" { v = $2 } END { print v + 0 }')
    say "  dataset-sink: $n records received (want >= $1)"
    ((n >= $1))
}

# post_events FILE_OF_IDS USERS...: one batch, an event per user given (repeat a user for more),
# each with an e-mail address and a phone number in its text; appends the accepted ids to FILE.
post_events() {
    local ids=$1; shift
    python3 - "$@" >"$RUN/batch.json" <<'PY'
import json, sys
events = [{"event_type": "comment_added", "tenant_id": "t-1", "user_id": u, "jurisdiction": "DE",
           "text": "Ping %s at alice.w@example.org or +49 30 1234567" % u} for u in sys.argv[1:]]
print(json.dumps({"events": events}))
PY
    curl -fsS -X POST "http://localhost:${API_PORT[8080]}/v1/events" -H "Authorization: Bearer $PRODUCER_TOKEN" \
        -H 'Content-Type: application/json' --data-binary "@$RUN/batch.json" >"$RUN/batch.out"
    python3 -c 'import json,sys; r = json.load(open(sys.argv[1])); assert r["accepted"] == len(r["event_ids"]); print("\n".join(r["event_ids"]))' \
        "$RUN/batch.out" >>"$ids"
}

grant() {
    local u
    for u in "$@"; do
        curl -fsS -o /dev/null -X PUT "http://localhost:${API_PORT[8081]}/v1/users/$u/consents/ai_training" \
            -H "Authorization: Bearer $CONSENT_TOKEN" -H 'Content-Type: application/json' \
            -d '{"status": "granted", "source": "settings-ui", "tenant_id": "t-1"}'
    done
}

# snapshot_rows: take a snapshot through the API, print its row count.
snapshot_rows() {
    curl -fsS -X POST -H "Authorization: Bearer $SINK_TOKEN" "http://localhost:${API_PORT[8083]}/v1/datasets/ai_training/snapshots" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["rows"])'
}

check_snapshot() {
    local dir=$1; shift
    # curated event ids are keyed: the check derives them from the README's keyring (every
    # event of this test is tenant t-1's, purpose ai_training)
    "$PY" "$HERE/check_snapshot.py" "$dir" --keyring deploy/compose/secrets/pseudonym_keyring \
        --purpose ai_training --tenant t-1 "$@" || die "the snapshot in $dir does not hold what was sent (above)"
}

# ---- failure and cleanup ------------------------------------------------------------------------
STACK=''
DOCKER_UP=''
diagnose() {
    echo
    echo "=== compose-test: stopped in stage: $STAGE (t+$((SECONDS - T0))s)"
    [[ -n $STACK ]] || return 0
    dc ps -a || true
    local line svc
    while IFS= read -r line; do
        svc=$(python3 -c 'import json,sys; c = json.loads(sys.argv[1]); ok = (c["state"] == "exited" and c["exit"] == 0) if c["service"] == "topics" else (c["state"] == "running" and c["health"] == "healthy"); print(("ok " if ok else "bad ") + c["service"])' "$line")
        case $svc in
            bad\ *) echo "--- logs of ${svc#bad } (not healthy):"; dc logs --no-color --tail 120 "${svc#bad }" || true ;;
            ok\ *) echo "--- last lines of ${svc#ok }:"; dc logs --no-color --tail 15 "${svc#ok }" || true ;;
        esac
    done < <(ps_json 2>/dev/null || true)
}

cleanup() {
    local rc=$?
    # Ignored, not reset: cleanup must finish even when the budget's TERM arrives meanwhile.
    trap - EXIT
    trap '' INT TERM
    # Back to the original outputs: a signal may arrive while a block writes through tee.
    exec 1>&7 2>&8
    ((rc == 143)) && say "stopped by SIGTERM (the time budget of ${TIMEOUT}s, COMPOSE_TEST_TIMEOUT, or a caller)"
    if ((rc != 0)); then diagnose; fi
    if [[ -n $STACK ]]; then
        if ((rc != 0)) && [[ ${COMPOSE_TEST_KEEP:-} == 1 ]]; then
            say "COMPOSE_TEST_KEEP=1: the stack stays up (cd $REPO && COMPOSE_FILE=$COMPOSE_FILE COMPOSE_PROJECT_NAME=$PROJECT docker compose down -v)"
        else
            (cd "$REPO" && docker compose down -v --remove-orphans >"$LOGS/cleanup-down.log" 2>&1) || say "cleanup: docker compose down -v failed (log $LOGS/cleanup-down.log)"
        fi
    fi
    # dockerd only if this run started it (docker-env.sh stops only a dockerd it started).
    if [[ -n $DOCKER_UP && ${COMPOSE_TEST_KEEP:-} != 1 ]]; then bash "$HERE/docker-env.sh" down || true; fi
    if ((rc == 0)); then
        say "PASSED in $((SECONDS - T0))s"
    else
        say "FAILED after $((SECONDS - T0))s (logs: $LOGS)"
    fi
    exit "$rc"
}
exec 7>&1 8>&2
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


# ---- 1. the guide and this machine --------------------------------------------------------------
stage "README.md: the compose guide's blocks"
mkdir -p "$RUN"; rm -rf "$LOGS"; mkdir -p "$LOGS"
extract_blocks
say "runs, in order: ${BLOCKS[*]}"
grep -h -o 'compose-test: skip.*-->' "$ROOT/README.md" | sed -e 's/ *-->$//' -e 's/^compose-test: /skips a block: /' -e 's/^/compose-test: /' || true
read_port_map
declare -A API_PORT=()
while IFS=: read -r _ host container; do API_PORT[$container]=$host; done < <(grep -o '127\.0\.0\.1:[0-9]*:[0-9]*' "$HERE/compose.test.yml")

stage "Docker Engine, dockerd, Compose and Buildx"
# A daemon that answers now was not started by this run: it is left running at the end.
if timeout 10 docker info >/dev/null 2>&1; then DOCKER_UP=''; else DOCKER_UP=1; fi
bash "$HERE/docker-env.sh" up

stage "stand-in images"
bash "$ROOT/deploy/compose/standins/build.sh" build

stage "scratch copy of the repository"
rm -rf "$REPO"; mkdir -p "$REPO"
# What git would commit (tracked and new files, not ignored ones): no .env, secrets or build output.
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -C "$REPO" -xf -
cd "$REPO"
say "$REPO ($(find . -type f | wc -l) files)"

export COMPOSE_FILE=docker-compose.yml:deploy/compose/build-ca.yml:deploy/compose/test/compose.test.yml
export COMPOSE_PROJECT_NAME=$PROJECT
export CURL_HOME=$RUN/curl
mkdir -p "$CURL_HOME"; printf 'max-time = 60\n' >"$CURL_HOME/.curlrc"
say "COMPOSE_FILE=$COMPOSE_FILE"
say "COMPOSE_PROJECT_NAME=$COMPOSE_PROJECT_NAME; curl max-time 60 s (CURL_HOME)"
if ! command -v sudo >/dev/null 2>&1; then
    [[ $(id -u) == 0 ]] || die "sudo is missing and this is not root: the keyring block needs one of them"
    sudo() { "$@"; }
    say "no sudo here and running as root: the README's \`sudo CMD\` runs CMD"
fi
PY=$(bash scripts/pyenv.sh 2>"$LOGS/pyenv.log" | tail -n1) || { cat "$LOGS/pyenv.log" >&2; die "scripts/pyenv.sh failed"; }

# ---- 2. the guide -------------------------------------------------------------------------------
run_block configure
run_block secrets
for v in PRODUCER_TOKEN CONSENT_TOKEN SINK_TOKEN; do [[ -n ${!v:-} ]] || die "the secrets block left no \$$v"; done
run_block keyring

stage "build CA (this machine's HTTPS goes through a proxy with its own CA)"
cp /etc/ssl/certs/ca-certificates.crt deploy/compose/secrets/build_ca.crt
say "deploy/compose/secrets/build_ca.crt <- /etc/ssl/certs/ca-certificates.crt (build-ca.yml; used only while modules download)"

stage "safety: what the stack publishes on the host"
published=$(dc config --format json | python3 -c '
import json, sys
for name, s in json.load(sys.stdin)["services"].items():
    for p in s.get("ports") or []:
        print("%s %s:%s->%s" % (name, p.get("host_ip", ""), p.get("published", ""), p["target"]))
')
echo "$published" | sed 's/^/    /'
if grep -v -E ' 127\.0\.0\.1:25[0-9]{3}->' <<<"$published" | grep -q .; then
    die "the merged compose files publish a port beyond 127.0.0.1:25000-25999; refusing to start"
fi

old_image=$(docker image inspect -f '{{.Id}}' "consentflow/consentflow:$(sed -n 's/^CONSENTFLOW_VERSION=//p' .env)" 2>/dev/null || true)
STACK=1
run_block start
check_all_healthy
new_image=$(docker image inspect -f '{{.Id}}' "consentflow/consentflow:$(sed -n 's/^CONSENTFLOW_VERSION=//p' .env)")
if [[ -n $old_image && $old_image != "$new_image" ]]; then
    docker rmi "$old_image" >/dev/null 2>&1 && say "removed the previous consentflow image ${old_image:7:12}" || true
fi

run_block health
grep -q '^ready' "$BLOCK_LOG" || die "the producer's healthcheck did not answer ready"
grep -q '^consentflow_filter_paused 0' "$BLOCK_LOG" || die "the consent-filter reports paused (or no consentflow_filter_paused metric)"

run_block first-event
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{") and "event_ids" in line:
        r = json.loads(line); assert r["accepted"] == 1, r; print(r["event_ids"][0])
' "$BLOCK_LOG" >"$RUN/ids-first.txt"
[[ -s $RUN/ids-first.txt ]] || die "the producer did not answer {\"accepted\":1,...} to the first event"
say "event accepted: $(cat "$RUN/ids-first.txt")"

run_block decision
grep -q 'Processed a total of 1 messages' "$BLOCK_LOG" || die "no decision on consent.decisions"

stage "waiting for the event to reach the sink (a requested snapshot publishes what it has received)"
wait_until "the sink has received the event" 60 sink_received_at_least 1

run_block snapshot
grep -q 'pulled ai_training snapshot .* 1 rows' "$BLOCK_LOG" || die "consentflow snapshot pull did not report 1 row"
stage "the pulled snapshot, read with pyarrow and DuckDB"
check_snapshot ./snapshot --expect-ids "$RUN/ids-first.txt" --forbid u-1 --forbid t-1 --forbid jane@example.com

# ---- 3. restarts lose nothing ------------------------------------------------------------------
stage "restart: events in flight, then the README's restart block"
users=(u-2 u-3 u-4 u-5 u-6 u-7 u-8 u-9 u-10 u-11)
grant "${users[@]}"
cp "$RUN/ids-first.txt" "$RUN/ids-expected.txt"; : >"$RUN/ids-absent.txt"
post_events "$RUN/ids-expected.txt" "${users[@]}" "${users[@]}" "${users[@]}" "${users[@]}" "${users[@]}" "${users[@]}"
post_events "$RUN/ids-absent.txt" u-99 u-99 u-99 u-99 u-99 u-99 u-99 u-99 u-99 u-99   # no consent: must never arrive
want=$(wc -l <"$RUN/ids-expected.txt")
say "accepted $((want - 1)) events of consenting users and $(wc -l <"$RUN/ids-absent.txt") of a user without consent"
wait_until "the anonymizer has curated them" 120 curated_at_least "$want"
sleep 5   # the sink fetches them into its open file (published only after 1 min, or on stop)
say "before the restart the sink has published $(service_metric dataset-sink dataset_sink_rows_written_total) rows since it started; the rest are in its open files"
run_block restart
dc up -d --wait --wait-timeout 120 dataset-sink

stage "restart: more events, then SIGKILL of the sink (no drain) and a start"
post_events "$RUN/ids-expected.txt" "${users[@]}" "${users[@]}" "${users[@]}" "${users[@]}"
want=$(wc -l <"$RUN/ids-expected.txt")
wait_until "the anonymizer has curated them" 120 curated_at_least "$want"
sleep 5
say "before the SIGKILL the sink has published $(service_metric dataset-sink dataset_sink_rows_written_total) rows since its restart; the rest are in its open files"
dc kill -s SIGKILL dataset-sink
dc up -d --wait --wait-timeout 120 dataset-sink

stage "restart: the sink re-reads what it had not committed; snapshot until all $want rows are in"
rows_reach() { local n; n=$(snapshot_rows); say "  snapshot: $n rows (want $1)"; ((n < $1)) || return 0; return 1; }
# Not fatal by itself: when rows stay missing, the check below names them.
(wait_until "a snapshot holds $want rows" 180 rows_reach "$want") || say "the rows did not all arrive; checking the latest snapshot anyway"
bin/consentflow snapshot pull ai_training latest --out ./snapshot-restart --url "http://localhost:${API_PORT[8083]}" --token "$SINK_TOKEN" 2>&1 | tail -n1
check_snapshot ./snapshot-restart --expect-ids "$RUN/ids-expected.txt" --absent-ids "$RUN/ids-absent.txt" \
    --forbid u-1 --forbid u-99 --forbid t-1 --forbid jane@example.com --forbid alice.w@example.org --forbid 1234567

# ---- 4. stop ------------------------------------------------------------------------------------
run_block stop
left=$(docker ps -a -q --filter "label=com.docker.compose.project=$PROJECT"; docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT")
[[ -z $left ]] || die "docker compose down -v left containers or volumes: $left"
STACK=''
say "docker compose down -v removed every container and volume"
