#!/usr/bin/env bash
# Real local infrastructure for consentflow, without Docker, on 127.0.0.1:
#   - Apache Kafka 4.x, single node, KRaft (combined broker+controller), jars from Maven Central
#   - Redis (Debian's redis-server), and a three-node Redis Cluster (three more redis-servers)
#   - Apicurio Registry (Confluent-compatible API at /apis/ccompat/v7), from Maven Central
#   - PostgreSQL (Debian's postgresql): the Iceberg SQL catalog and erasure ledger that several
#     dataset-sink instances share
#
# Usage: scripts/services.sh up|down|status|env|restart-kafka|restart-redis|clean|kafka-tool
#   up             start what is not running yet (idempotent); prints start-up times
#   down           stop what `up` started, by recorded pid (idempotent)
#   status         print what runs; exit 0 when kafka and redis both run, 3 otherwise
#   env            print `export VAR=...` lines for the running services:
#                    eval "$(scripts/services.sh env)"
#   restart-kafka  stop the broker by pid, start it again on the same data, wait until ready
#   restart-redis  same for redis (data kept: append-only file)
#   clean          down, then delete the state dir's data/ (kafka log dirs, redis AOF, postgres cluster)
#   fetch          download the Kafka jars and the registry (no start); print their dirs
#   kafka-tool CLASS [ARGS...]
#                  run a Kafka tool class from $KAFKA_LIBS, e.g.
#                    scripts/services.sh kafka-tool org.apache.kafka.tools.TopicCommand \
#                      --bootstrap-server 127.0.0.1:19092 --list
#
# Settings (environment):
#   CONSENTFLOW_CACHE          downloads cache            (default ~/.cache/consentflow)
#   CONSENTFLOW_SERVICES_DIR   state: logs/ pids/ data/ conf/ (default $CONSENTFLOW_CACHE/services)
#   KAFKA_VERSION              4.1.1     KAFKA_PORT 19092   KAFKA_CONTROLLER_PORT 19093
#   REDIS_PORT                 16379
#   REDIS_CLUSTER_BASE_PORT    16401: the cluster's nodes listen on BASE..BASE+2, their cluster
#                              bus on BASE+3..BASE+5 (so 16401-16406 by default)
#   CONSENTFLOW_REDIS_CLUSTER  on (default) or off: whether `up` starts the Redis Cluster
#   SCHEMA_REGISTRY_PORT       18081     APICURIO_VERSION 3.0.9
#   POSTGRES_PORT              15432     CONSENTFLOW_POSTGRES auto (default: start it), off (never)
#   POSTGRES_DATA              the cluster's directory (default $CONSENTFLOW_SERVICES_DIR/data/postgres;
#                              when running as root, where the postgres user cannot reach, a directory
#                              under /var/tmp linked from there)
#   CONSENTFLOW_SCHEMA_REGISTRY  auto (default: start it; if it fails, warn and go on without),
#                              required (its failure fails `up`), off (never start it)
#   KAFKA_HEAP_OPTS            "-Xms256m -Xmx768m"    SCHEMA_REGISTRY_HEAP_OPTS "-Xmx384m"
#   KAFKA_JVM_PERFORMANCE_OPTS, SCHEMA_REGISTRY_JVM_OPTS   (see below)
#   KAFKA_START_TIMEOUT 120  REDIS_START_TIMEOUT 30  SCHEMA_REGISTRY_START_TIMEOUT 120
#   SERVICES_STOP_TIMEOUT 30 (seconds between SIGTERM and SIGKILL)
#   CONSENTFLOW_SECURE         1: secured as a managed service is, on ports of their own: Kafka gets a
#                              SASL_SSL listener on KAFKA_SASL_SSL_PORT (default KAFKA_PORT+2; SCRAM-SHA-512
#                              and -256 user "consentflow" created at format time, PLAIN for the same
#                              user, client certificate required), Redis a TLS port REDIS_TLS_PORT (default REDIS_PORT+1; client
#                              certificate required) with the ACL user "consentflow" and the default user
#                              off, the registry https on SCHEMA_REGISTRY_TLS_PORT (default
#                              SCHEMA_REGISTRY_PORT+1). A throwaway CA and certificates (openssl) and random
#                              passwords live in $CONSENTFLOW_SERVICES_DIR/tls and /secrets; `env` prints the
#                              secured settings (KAFKA_TLS_*, KAFKA_SASL_*, REDIS_*, SCHEMA_REGISTRY_TLS_*), and
#                              `up` restarts a service that runs unsecured. The Redis Cluster (if on)
#                              speaks only TLS on its ports then, with the same user and certificates. The plaintext Kafka listener and
#                              registry port stay (the script's health checks use them).
#
# Nothing here runs as a daemon of the system: every process is a background child started by
# this script (in its own session, so it outlives the caller), its pid kept in pids/<name>.pid;
# `down` only ever signals those pids, after checking that the pid still is that service.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPLOY=$ROOT/deploy/local

CACHE=${CONSENTFLOW_CACHE:-$HOME/.cache/consentflow}
STATE=${CONSENTFLOW_SERVICES_DIR:-$CACHE/services}

KAFKA_VERSION=${KAFKA_VERSION:-4.1.1}
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-19093}
REDIS_PORT=${REDIS_PORT:-16379}
REDIS_CLUSTER_BASE_PORT=${REDIS_CLUSTER_BASE_PORT:-16401}
REDIS_CLUSTER_MODE=${CONSENTFLOW_REDIS_CLUSTER:-on}
CLUSTER_NODES=(1 2 3)
cluster_port() { echo $((REDIS_CLUSTER_BASE_PORT + $1 - 1)); }
cluster_bus_port() { echo $((REDIS_CLUSTER_BASE_PORT + $1 + 2)); }
cluster_addrs() {
    local n out=()
    for n in "${CLUSTER_NODES[@]}"; do out+=("127.0.0.1:$(cluster_port "$n")"); done
    (IFS=,; echo "${out[*]}")
}
cluster_wanted() {
    case $REDIS_CLUSTER_MODE in
        off | 0 | false | no) return 1 ;;
        *) return 0 ;;
    esac
}
SCHEMA_REGISTRY_PORT=${SCHEMA_REGISTRY_PORT:-18081}
APICURIO_VERSION=${APICURIO_VERSION:-3.0.9}
SCHEMA_REGISTRY_MODE=${CONSENTFLOW_SCHEMA_REGISTRY:-auto}
POSTGRES_PORT=${POSTGRES_PORT:-15432}
POSTGRES_MODE=${CONSENTFLOW_POSTGRES:-auto}
POSTGRES_START_TIMEOUT=${POSTGRES_START_TIMEOUT:-60}
SECURE=${CONSENTFLOW_SECURE:-0}
KAFKA_SASL_SSL_PORT=${KAFKA_SASL_SSL_PORT:-$((KAFKA_PORT + 2))}
REDIS_TLS_PORT=${REDIS_TLS_PORT:-$((REDIS_PORT + 1))}
SCHEMA_REGISTRY_TLS_PORT=${SCHEMA_REGISTRY_TLS_PORT:-$((SCHEMA_REGISTRY_PORT + 1))}

KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}
KAFKA_JVM_PERFORMANCE_OPTS=${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true}
SCHEMA_REGISTRY_HEAP_OPTS=${SCHEMA_REGISTRY_HEAP_OPTS:--Xmx384m}
# A test registry: C1 only and the serial GC boot faster and leave the cores to the broker.
SCHEMA_REGISTRY_JVM_OPTS=${SCHEMA_REGISTRY_JVM_OPTS:--XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true}

KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-120}
REDIS_START_TIMEOUT=${REDIS_START_TIMEOUT:-30}
SCHEMA_REGISTRY_START_TIMEOUT=${SCHEMA_REGISTRY_START_TIMEOUT:-120}
SERVICES_STOP_TIMEOUT=${SERVICES_STOP_TIMEOUT:-30}

KAFKA_HOME=$CACHE/kafka-$KAFKA_VERSION
KAFKA_LIBS=$KAFKA_HOME/libs
REGISTRY_HOME=$CACHE/apicurio-registry-$APICURIO_VERSION

LOGS=$STATE/logs
PIDS=$STATE/pids
DATA=$STATE/data
CONF=$STATE/conf
TLS=$STATE/tls
SECRETS=$STATE/secrets
SECURE_USER=consentflow

if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then JAVA=$JAVA_HOME/bin/java; else JAVA=${JAVA:-java}; fi

# ---------------------------------------------------------------------------------------------
say()  { printf '%s\n' "services: $*"; }
warn() { printf '%s\n' "services: WARNING: $*" >&2; }
die()  { printf '%s\n' "services: ERROR: $*" >&2; exit 1; }

now() { echo "${EPOCHREALTIME:-$(date +%s.%N)}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

mkdirs() { mkdir -p "$LOGS" "$PIDS" "$DATA" "$CONF"; }

lock() {
    # One services.sh at a time per state dir: `up` racing `restart-kafka` from a test would
    # otherwise start two brokers on one data dir.
    mkdirs
    exec 9>"$STATE/.lock"
    if command -v flock >/dev/null 2>&1; then
        flock -w 600 9 || die "another scripts/services.sh holds $STATE/.lock for more than 600 s"
    fi
}

# ---- processes ------------------------------------------------------------------------------
pidfile() { echo "$PIDS/$1.pid"; }

# alive PID: the process exists and is not a zombie.
alive() {
    local st
    [[ -n ${1:-} && -r /proc/$1/stat ]] || return 1
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
    [[ -n $st && $st != Z ]]
}

# is_service NAME PID: PID is alive and really is our NAME (guards against pid reuse).
is_service() {
    local name=$1 pid=$2 cmd
    alive "$pid" || return 1
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    case $name in
        kafka)           [[ $cmd == *"-Dconsentflow.service=kafka "* && $cmd == *"$CONF/kafka-server.properties"* ]] ;;
        schema-registry) [[ $cmd == *"-Dconsentflow.service=schema-registry "* && $cmd == *"-Dconsentflow.state=$STATE "* ]] ;;
        # redis-server rewrites its title to "redis-server 127.0.0.1:PORT" once it runs.
        redis)           [[ $cmd == *redis-server* && ( $cmd == *":$REDIS_PORT"* || $cmd == *"$CONF/redis.conf"* ) ]] ;;
        redis-cluster-*) local port; port=$(cluster_port "${name#redis-cluster-}")
                         [[ $cmd == *redis-server* && ( $cmd == *":$port"* || $cmd == *"$CONF/$name.conf"* ) ]] ;;
        postgres)        [[ $cmd == *postgres* && $cmd == *"-D $(pg_data) "* && $cmd == *"-p $POSTGRES_PORT "* ]] ;;
        *) return 1 ;;
    esac
}

# service_pid NAME: print the pid of our running NAME; clears a stale pid file.
service_pid() {
    local f pid
    f=$(pidfile "$1")
    [[ -s $f ]] || return 1
    pid=$(<"$f")
    if is_service "$1" "$pid"; then echo "$pid"; return 0; fi
    rm -f "$f"
    return 1
}

# spawn NAME LOGFILE CMD...: start CMD in the background in its own session, record its pid.
spawn() {
    local name=$1 logfile=$2; shift 2
    printf '\n==== %s: starting %s\n' "$(date -Is)" "$name" >>"$logfile"
    # 9>&-: the service must not inherit the lock on $STATE/.lock (see lock()), or it would hold
    # it for its whole life and every later services.sh would wait for it.
    if command -v setsid >/dev/null 2>&1; then
        setsid "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
    else
        nohup "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
    fi
    echo $! >"$(pidfile "$name")"
}

# stop_service NAME: SIGTERM by recorded pid, SIGKILL after SERVICES_STOP_TIMEOUT.
stop_service() {
    local name=$1 pid t0 deadline
    if ! pid=$(service_pid "$name"); then
        say "$name: not running"
        return 0
    fi
    t0=$(now)
    # PostgreSQL's SIGTERM is a "smart" shutdown that waits for every client to disconnect;
    # SIGINT is its fast shutdown (clients cut, data flushed).
    local sig=TERM
    [[ $name == postgres ]] && sig=INT
    kill -"$sig" "$pid" 2>/dev/null || true
    deadline=$((SECONDS + SERVICES_STOP_TIMEOUT))
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
    if alive "$pid"; then
        warn "$name (pid $pid) still running ${SERVICES_STOP_TIMEOUT}s after SIG$sig; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 10))
        while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
        alive "$pid" && die "$name (pid $pid) survived SIGKILL"
    fi
    rm -f "$(pidfile "$name")"
    say "$name: stopped (pid $pid) in $(elapsed "$t0")s"
}

# ---- ports ----------------------------------------------------------------------------------
port_listening() {
    local port=$1
    if command -v ss >/dev/null 2>&1; then
        [[ -n $(ss -Hltn "sport = :$port" 2>/dev/null) ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
    fi
}

port_owner() {
    command -v ss >/dev/null 2>&1 || return 0
    ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:(([^)]*' | head -1 | sed 's/users:((//' || true
}

# require_free_port PORT WHAT: die when something else listens there.
require_free_port() {
    local port=$1 what=$2 owner
    if port_listening "$port"; then
        owner=$(port_owner "$port")
        die "port $port (for $what) is already in use${owner:+ by $owner}, and not by a service this script started (state dir $STATE). Stop it, or pick another port (e.g. ${3:-PORT}=<free port>)."
    fi
}

wait_port_free() {
    local port=$1 deadline=$((SECONDS + 15))
    while port_listening "$port" && ((SECONDS < deadline)); do sleep 0.2; done
}

# ---- prerequisites --------------------------------------------------------------------------
ensure_debian_packages() {
    local missing=()
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
    command -v kcat >/dev/null 2>&1 || missing+=(kcat)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    command -v ss >/dev/null 2>&1 || missing+=(iproute2)
    ((${#missing[@]} == 0)) && return 0
    command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them"
    local sudo=()
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "missing ${missing[*]}; install them as root: apt-get install -y ${missing[*]}"
        sudo=(sudo -n)
    fi
    say "installing Debian packages: ${missing[*]} (log: $LOGS/apt.log)"
    local t0; t0=$(now)
    if ! { "${sudo[@]}" apt-get update -q && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${missing[@]}"; } >"$LOGS/apt.log" 2>&1; then
        tail -n 15 "$LOGS/apt.log" >&2
        die "apt-get install ${missing[*]} failed (full log: $LOGS/apt.log)"
    fi
    say "installed ${missing[*]} in $(elapsed "$t0")s"
}

ensure_java() {
    command -v "$JAVA" >/dev/null 2>&1 || die "java not found (Kafka 4.x needs Java 17+; apt-get install -y openjdk-17-jre-headless)"
    local v
    v=$("$JAVA" -version 2>&1 | awk -F'"' '/version/ { print $2; exit }')
    v=${v%%.*}
    [[ $v =~ ^[0-9]+$ ]] && ((v >= 17)) || die "java $v found; Kafka $KAFKA_VERSION needs Java 17 or newer"
}

ensure_maven() {
    command -v mvn >/dev/null 2>&1 && return 0
    say "installing maven (Debian package)"
    if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q maven; } >"$LOGS/apt.log" 2>&1; then
        tail -n 15 "$LOGS/apt.log" >&2
        die "mvn not found and apt-get install maven failed"
    fi
}

# mvn_failed WHAT LOG: explain which artifact could not be fetched.
mvn_failed() {
    local what=$1 log=$2
    {
        echo "services: ERROR: Maven could not fetch $what. Maven said:"
        grep -E '^\[ERROR\]' "$log" | grep -v -E 'Re-run Maven|full stack trace|For more information|^\[ERROR\] *(\[Help 1\].*)?$' |
            sed -e 's/ -> \[Help 1\]$//' -e 's/^/    /' | head -n 12
        echo "  (full log: $log; Maven Central must be reachable; local repository ~/.m2/repository)"
    } >&2
    exit 1
}

sha_of() { sha256sum "$@" | sha256sum | cut -c1-16; }

resolve_kafka() {
    local stamp want t0 tmp
    stamp=$KAFKA_HOME/.complete
    want="$KAFKA_VERSION $(sha_of "$DEPLOY/kafka/pom.xml")"
    if [[ -f $stamp && $(<"$stamp") == "$want" && -d $KAFKA_LIBS ]]; then return 0; fi
    ensure_maven
    say "kafka: resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION + kafka-tools with Maven into $KAFKA_LIBS (first time ~55 MB)"
    t0=$(now)
    mkdir -p "$KAFKA_HOME"
    tmp=$KAFKA_HOME/libs.tmp.$$
    rm -rf "$tmp"
    if ! mvn -B -U -f "$DEPLOY/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
        >"$LOGS/mvn-kafka.log" 2>&1; then
        rm -rf "$tmp"
        mvn_failed "Apache Kafka $KAFKA_VERSION (org.apache.kafka:kafka_2.13:$KAFKA_VERSION, org.apache.kafka:kafka-tools:$KAFKA_VERSION and their dependencies)" "$LOGS/mvn-kafka.log"
    fi
    [[ -f $tmp/kafka_2.13-$KAFKA_VERSION.jar && -f $tmp/kafka-tools-$KAFKA_VERSION.jar ]] ||
        die "Maven finished but $tmp lacks kafka_2.13-$KAFKA_VERSION.jar or kafka-tools-$KAFKA_VERSION.jar (log: $LOGS/mvn-kafka.log)"
    rm -rf "$KAFKA_LIBS"
    mv "$tmp" "$KAFKA_LIBS"
    echo "$want" >"$stamp"
    say "kafka: jars resolved in $(elapsed "$t0")s ($(ls "$KAFKA_LIBS" | wc -l) jars)"
}

registry_launcher() {
    # 3.0.x ships a legacy-jar (<name>-runner.jar + lib/); later ones a fast-jar (quarkus-run.jar).
    local j
    for j in "$REGISTRY_HOME"/app/*-runner.jar "$REGISTRY_HOME"/app/quarkus-run.jar; do
        [[ -f $j ]] && { echo "$j"; return 0; }
    done
    return 1
}

resolve_registry() {
    local stamp want t0 tmp
    stamp=$REGISTRY_HOME/.complete
    want="$APICURIO_VERSION $(sha_of "$DEPLOY/registry/pom.xml")"
    if [[ -f $stamp && $(<"$stamp") == "$want" ]] && registry_launcher >/dev/null; then return 0; fi
    ensure_maven
    say "schema-registry: fetching io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all with Maven into $REGISTRY_HOME (first time ~110 MB)"
    t0=$(now)
    mkdir -p "$REGISTRY_HOME"
    tmp=$REGISTRY_HOME/dl.tmp.$$
    rm -rf "$tmp"
    if ! mvn -B -U -f "$DEPLOY/registry/pom.xml" -Dapicurio.version="$APICURIO_VERSION" \
        dependency:copy -DoutputDirectory="$tmp" >"$LOGS/mvn-schema-registry.log" 2>&1; then
        rm -rf "$tmp"
        mvn_failed "Apicurio Registry $APICURIO_VERSION (io.apicurio:apicurio-registry-app:$APICURIO_VERSION, classifier all, type tar.gz)" "$LOGS/mvn-schema-registry.log"
    fi
    mkdir -p "$tmp/app"
    tar -xzf "$tmp/apicurio-registry-app-all.tar.gz" -C "$tmp/app" || die "cannot unpack $tmp/apicurio-registry-app-all.tar.gz"
    rm -rf "$REGISTRY_HOME/app"
    mv "$tmp/app" "$REGISTRY_HOME/app"
    rm -rf "$tmp"
    registry_launcher >/dev/null || die "Apicurio $APICURIO_VERSION unpacked, but neither *-runner.jar nor quarkus-run.jar is in $REGISTRY_HOME/app"
    echo "$want" >"$stamp"
    say "schema-registry: fetched and unpacked in $(elapsed "$t0")s"
}

# ---- secured mode (CONSENTFLOW_SECURE=1) ------------------------------------------------------
secure_on() {
    case $SECURE in 1 | true | yes) return 0 ;; *) return 1 ;; esac
}

# mode_of NAME: the mode NAME was started in (plain or secure).
mode_of() { cat "$PIDS/$1.mode" 2>/dev/null || echo plain; }
mode_wanted() { if secure_on; then echo secure; else echo plain; fi; }

# remode NAME PORT: stop NAME when it runs in a mode other than the one asked for, so that it
# starts again in that mode. A secured Kafka or registry also serves plaintext clients and is kept.
remode() {
    local name=$1 port=$2
    service_pid "$name" >/dev/null || return 0
    [[ $(mode_of "$name") == "$(mode_wanted)" ]] && return 0
    [[ $(mode_wanted) == plain && $name != redis ]] && return 0
    say "$name: runs $(mode_of "$name"), $(mode_wanted) wanted (CONSENTFLOW_SECURE=$SECURE): restarting it"
    stop_service "$name"
    wait_port_free "$port"
}

# secret NAME: a random password kept in $SECRETS/NAME (0600), made on first use.
secret() {
    local f=$SECRETS/$1
    if [[ ! -s $f ]]; then
        mkdir -p "$SECRETS"
        chmod 700 "$SECRETS"
        (umask 077 && openssl rand -hex 16 >"$f")
    fi
    cat "$f"
}

# ensure_tls: a throwaway CA, a server certificate for 127.0.0.1 and localhost, and a client
# certificate, made once with openssl (RSA 2048, PKCS#8 keys, 825 days) and remade when the
# server certificate expires within a day.
ensure_tls() {
    if [[ -s $TLS/server.pem && -s $TLS/client.pem ]] &&
        openssl x509 -checkend 86400 -noout -in "$TLS/server.pem" >/dev/null 2>&1; then
        return 0
    fi
    command -v openssl >/dev/null 2>&1 || die "openssl not found (apt-get install -y openssl); CONSENTFLOW_SECURE=1 needs it"
    local t0; t0=$(now)
    rm -rf "$TLS.tmp"
    mkdir -p "$TLS.tmp"
    (
        cd "$TLS.tmp"
        umask 077
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 825 \
            -subj "/CN=consentflow throwaway CA" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
        openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj "/CN=localhost"
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 825 -out server.pem -extfile server.ext
        openssl req -newkey rsa:2048 -nodes -keyout client-key.pem -out client.csr -subj "/CN=$SECURE_USER"
        printf 'extendedKeyUsage=clientAuth\n' >client.ext
        openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 825 -out client.pem -extfile client.ext
        cat server-key.pem server.pem >server-keystore.pem # Kafka's PEM key store: the key, then the chain
        rm -f ./*.csr ./*.ext ./*.srl
        chmod 644 ca.pem server.pem client.pem
    ) >"$LOGS/tls.log" 2>&1 || { cat "$LOGS/tls.log" >&2; die "openssl could not make the throwaway certificates (log: $LOGS/tls.log)"; }
    rm -rf "$TLS"
    mv "$TLS.tmp" "$TLS"
    say "tls: throwaway CA and certificates in $TLS in $(elapsed "$t0")s"
}

# ---- health checks --------------------------------------------------------------------------
kafka_ready() {
    if command -v kcat >/dev/null 2>&1; then
        # A metadata request that lists our broker (asking for one topic only, so the answer
        # stays small however many topics tests create; that topic need not exist).
        local out
        out=$(timeout 10 kcat -b "127.0.0.1:$KAFKA_PORT" -L -m 3 -t __consentflow_probe 2>/dev/null) || true
        [[ $out == *" 1 brokers:"* ]]
    else
        timeout 30 "$JAVA" -Xmx128m -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$DEPLOY/kafka/tools-log4j2.properties" \
            org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list >/dev/null 2>&1
    fi
}

redis_ready() {
    local auth=()
    [[ $(mode_of redis) == secure ]] && auth=(--user "$SECURE_USER" --pass "$(secret redis-password)" --no-auth-warning)
    [[ $(timeout 5 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "${auth[@]}" ping 2>/dev/null) == PONG ]]
}

# cluster_cli SECONDS ARGS: redis-cli for the cluster's nodes (killed after SECONDS), with TLS
# (client certificate) and the admin user when the cluster runs secured.
cluster_cli() {
    local secs=$1 auth=()
    shift
    [[ $(mode_of redis-cluster-1) == secure ]] && auth=(--tls --cacert "$TLS/ca.pem" --cert "$TLS/client.pem"
        --key "$TLS/client-key.pem" --user admin --pass "$(secret redis-admin-password)" --no-auth-warning)
    timeout "$secs" redis-cli "${auth[@]}" "$@"
}

# cluster_ok: every node answers and reports cluster_state:ok with all three nodes known.
cluster_ok() {
    local n info
    for n in "${CLUSTER_NODES[@]}"; do
        info=$(cluster_cli 5 -h 127.0.0.1 -p "$(cluster_port "$n")" cluster info 2>/dev/null) || return 1
        [[ $info == *"cluster_state:ok"* && $info == *"cluster_known_nodes:${#CLUSTER_NODES[@]}"* ]] || return 1
    done
}

registry_url() { echo "http://127.0.0.1:$SCHEMA_REGISTRY_PORT/apis/ccompat/v7"; }
registry_tls_url() { echo "https://127.0.0.1:$SCHEMA_REGISTRY_TLS_PORT/apis/ccompat/v7"; }

registry_ready() {
    curl -sf --max-time 3 -o /dev/null "$(registry_url)/subjects"
}

# wait_ready NAME PID TIMEOUT CHECK LOG: poll CHECK until it passes; fail when PID dies.
wait_ready() {
    local name=$1 pid=$2 timeout=$3 check=$4 log=$5 deadline
    deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
        if ! alive "$pid"; then
            echo "---- last lines of $log:" >&2
            tail -n 25 "$log" >&2 || true
            echo "services: ERROR: $name (pid $pid) exited during start-up (log: $log)" >&2
            return 1
        fi
        if $check; then return 0; fi
        sleep 0.3
    done
    echo "---- last lines of $log:" >&2
    tail -n 25 "$log" >&2 || true
    echo "services: ERROR: $name (pid $pid) not ready after ${timeout}s (log: $log)" >&2
    return 1
}

# ---- kafka ----------------------------------------------------------------------------------
kafka_config() {
    local conf=$CONF/kafka-server.properties
    sed -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" \
        -e "s#@CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g" \
        -e "s#@LOG_DIRS@#$DATA/kafka#g" \
        "$DEPLOY/kafka/server.properties.in" >"$conf.tmp"
    if secure_on; then
        chmod 600 "$conf.tmp" # it names the PLAIN user's password
        # A SASL_SSL listener next to the plaintext one: SCRAM users (kafka_format), a
        # certificate of the throwaway CA, and a client certificate required.
        sed -i -e "s#^listeners=.*#&,SASL_SSL://127.0.0.1:$KAFKA_SASL_SSL_PORT#" \
            -e "s#^advertised.listeners=.*#&,SASL_SSL://127.0.0.1:$KAFKA_SASL_SSL_PORT#" \
            -e "s#^listener.security.protocol.map=.*#&,SASL_SSL:SASL_SSL#" "$conf.tmp"
        cat >>"$conf.tmp" <<EOF

# CONSENTFLOW_SECURE=1 (scripts/services.sh)
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
# PLAIN too (as Confluent Cloud uses it), same user and password: Debian's kcat (librdkafka
# 2.0.2) cannot do SCRAM with Kafka 4.x, whose strict nonce check librdkafka meets from 2.6.1.
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SECURE_USER="$(secret kafka-password)";
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$TLS/server-keystore.pem
listener.name.sasl_ssl.ssl.truststore.type=PEM
listener.name.sasl_ssl.ssl.truststore.location=$TLS/ca.pem
listener.name.sasl_ssl.ssl.client.auth=required
EOF
    fi
    mv "$conf.tmp" "$conf"
}

new_cluster_id() {
    # A Kafka Uuid: 16 random bytes, URL-safe base64 without padding, not starting with '-'.
    python3 -c 'import base64,os
while True:
    s = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    if not s.startswith("-"): print(s); break' 2>/dev/null ||
        "$JAVA" -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$DEPLOY/kafka/tools-log4j2.properties" kafka.tools.StorageTool random-uuid
}

kafka_format() {
    local marker=$DATA/kafka.ports want="$KAFKA_PORT $KAFKA_CONTROLLER_PORT"
    if [[ -f $DATA/kafka/meta.properties ]]; then
        if [[ -f $marker && $(<"$marker") != "$want" ]]; then
            die "kafka: $DATA/kafka was formatted for ports $(<"$marker") (broker controller), now $want; run 'scripts/services.sh clean' to start over on the new ports"
        fi
        if secure_on && [[ ! -f $DATA/kafka.scram ]]; then
            die "kafka: $DATA/kafka was formatted before SCRAM users were created at format time; run 'scripts/services.sh clean' once to format it again"
        fi
        return 0
    fi
    local id t0
    t0=$(now)
    id=$(new_cluster_id)
    mkdir -p "$DATA/kafka"
    if ! "$JAVA" -Xmx256m -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$DEPLOY/kafka/tools-log4j2.properties" \
        kafka.tools.StorageTool format --standalone -t "$id" -c "$CONF/kafka-server.properties" \
        --add-scram "SCRAM-SHA-512=[name=$SECURE_USER,password=$(secret kafka-password)]" \
        --add-scram "SCRAM-SHA-256=[name=$SECURE_USER,password=$(secret kafka-password)]" \
        >"$LOGS/kafka-format.log" 2>&1; then
        cat "$LOGS/kafka-format.log" >&2
        die "kafka: storage format failed (log: $LOGS/kafka-format.log)"
    fi
    echo "$id" >"$DATA/kafka.cluster-id"
    echo "$want" >"$marker"
    echo "$SECURE_USER SCRAM-SHA-512 SCRAM-SHA-256" >"$DATA/kafka.scram"
    say "kafka: formatted $DATA/kafka (cluster id $id) in $(elapsed "$t0")s"
}

start_kafka() {
    local pid t0
    remode kafka "$KAFKA_PORT"
    if pid=$(service_pid kafka); then
        if kafka_ready; then
            say "kafka: already running (pid $pid) and healthy on 127.0.0.1:$KAFKA_PORT"
            return 0
        fi
        say "kafka: pid $pid runs but does not answer yet; waiting"
        wait_ready kafka "$pid" "$KAFKA_START_TIMEOUT" kafka_ready "$LOGS/kafka-server.log" ||
            die "kafka: pid $pid does not answer on 127.0.0.1:$KAFKA_PORT; run 'scripts/services.sh down' and retry"
        say "kafka: running (pid $pid) and healthy"
        return 0
    fi
    require_free_port "$KAFKA_PORT" "kafka broker" KAFKA_PORT
    require_free_port "$KAFKA_CONTROLLER_PORT" "kafka controller" KAFKA_CONTROLLER_PORT
    ensure_java
    resolve_kafka
    if secure_on; then
        require_free_port "$KAFKA_SASL_SSL_PORT" "kafka SASL_SSL listener" KAFKA_SASL_SSL_PORT
        ensure_tls
    fi
    kafka_config
    kafka_format
    t0=$(now)
    # shellcheck disable=SC2086 # the *_OPTS are word lists on purpose
    spawn kafka "$LOGS/kafka.out" "$JAVA" $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS \
        -Dconsentflow.service=kafka \
        -Dlog4j2.configurationFile="$DEPLOY/kafka/log4j2.properties" \
        -Dkafka.logs.dir="$LOGS" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$CONF/kafka-server.properties"
    mode_wanted >"$PIDS/kafka.mode"
    pid=$(<"$(pidfile kafka)")
    if ! wait_ready kafka "$pid" "$KAFKA_START_TIMEOUT" kafka_ready "$LOGS/kafka-server.log"; then
        tail -n 10 "$LOGS/kafka.out" >&2 || true
        exit 1
    fi
    KAFKA_STARTED_IN=$(elapsed "$t0")
    say "kafka: Apache Kafka $KAFKA_VERSION (pid $pid) ready on 127.0.0.1:$KAFKA_PORT$(secure_on && echo ", SASL_SSL on 127.0.0.1:$KAFKA_SASL_SSL_PORT") in ${KAFKA_STARTED_IN}s"
}

# ---- redis ----------------------------------------------------------------------------------
redis_config() {
    mkdir -p "$DATA/redis"
    cat >"$CONF/redis.conf.tmp" <<EOF
# written by scripts/services.sh
bind 127.0.0.1
port $REDIS_PORT
protected-mode yes
daemonize no
supervised no
dir $DATA/redis
logfile $LOGS/redis.log
loglevel notice
databases 16
# Durable across restart-redis: append-only file, fsync every second, no RDB snapshots.
save ""
appendonly yes
appendfsync everysec
appendfilename "appendonly.aof"
EOF
    if secure_on; then
        # TLS on a port of its own (client certificate required), the ACL user, the default
        # user off: as managed Redis offerings are. The user may do all but administration.
        chmod 600 "$CONF/redis.conf.tmp" # it names the ACL user's password
        (cat >>"$CONF/redis.conf.tmp" <<EOF
# CONSENTFLOW_SECURE=1
tls-port $REDIS_TLS_PORT
tls-cert-file $TLS/server.pem
tls-key-file $TLS/server-key.pem
tls-ca-cert-file $TLS/ca.pem
tls-auth-clients yes
user default off
user $SECURE_USER on >$(secret redis-password) ~* &* +@all -@admin
EOF
        )
    fi
    mv "$CONF/redis.conf.tmp" "$CONF/redis.conf"
}

start_redis() {
    local pid t0
    remode redis "$REDIS_PORT"
    if pid=$(service_pid redis); then
        if redis_ready; then
            say "redis: already running (pid $pid) and healthy on 127.0.0.1:$REDIS_PORT"
            return 0
        fi
        wait_ready redis "$pid" "$REDIS_START_TIMEOUT" redis_ready "$LOGS/redis.log" ||
            die "redis: pid $pid does not answer PING on 127.0.0.1:$REDIS_PORT"
        say "redis: running (pid $pid) and healthy"
        return 0
    fi
    require_free_port "$REDIS_PORT" "redis" REDIS_PORT
    if secure_on; then
        require_free_port "$REDIS_TLS_PORT" "redis TLS" REDIS_TLS_PORT
        ensure_tls
    fi
    redis_config
    t0=$(now)
    spawn redis "$LOGS/redis.out" redis-server "$CONF/redis.conf"
    mode_wanted >"$PIDS/redis.mode"
    pid=$(<"$(pidfile redis)")
    if ! wait_ready redis "$pid" "$REDIS_START_TIMEOUT" redis_ready "$LOGS/redis.log"; then
        tail -n 10 "$LOGS/redis.out" >&2 || true
        exit 1
    fi
    REDIS_STARTED_IN=$(elapsed "$t0")
    say "redis: $(redis-server --version | awk '{sub(/^v=/, "", $3); print $3}') (pid $pid) ready on 127.0.0.1:$REDIS_PORT$(secure_on && echo ", TLS on 127.0.0.1:$REDIS_TLS_PORT (user $SECURE_USER)") in ${REDIS_STARTED_IN}s"
}

# ---- redis cluster --------------------------------------------------------------------------
# Three masters, no replicas (a test fixture for slot routing, pipelines and scripts, not for
# failover), no persistence (a cache: the consent store rebuilds it from Kafka), the cluster
# state in nodes.conf so that a restart re-forms the same cluster.
cluster_node_config() {
    local n=$1 dir
    dir=$DATA/redis-cluster/$n
    mkdir -p "$dir"
    {
        echo "# written by scripts/services.sh"
        echo "bind 127.0.0.1"
        echo "port $(cluster_port "$n")"
        echo "protected-mode yes"
        echo "daemonize no"
        echo "dir $dir"
        echo "logfile $LOGS/redis-cluster-$n.log"
        echo "loglevel notice"
        echo "cluster-enabled yes"
        echo "cluster-config-file nodes.conf"
        echo "cluster-port $(cluster_bus_port "$n")"
        echo "cluster-node-timeout 5000"
        echo 'save ""'
        echo "appendonly no"
        if secure_on; then
            # CONSENTFLOW_SECURE=1: TLS only (the same port), on the cluster bus too, client
            # certificates required, the ACL user of the single Redis, the default user off.
            echo "port 0"
            echo "tls-port $(cluster_port "$n")"
            echo "tls-cert-file $TLS/server.pem"
            echo "tls-key-file $TLS/server-key.pem"
            echo "tls-ca-cert-file $TLS/ca.pem"
            echo "tls-auth-clients yes"
            echo "tls-cluster yes"
            echo "user default off"
            echo "user $SECURE_USER on >$(secret redis-password) ~* &* +@all -@admin"
            echo "user admin on >$(secret redis-admin-password) ~* &* +@all" # this script: CLUSTER MEET
        fi
    } >"$CONF/redis-cluster-$n.conf.tmp"
    chmod 600 "$CONF/redis-cluster-$n.conf.tmp"
    mv "$CONF/redis-cluster-$n.conf.tmp" "$CONF/redis-cluster-$n.conf"
}

CLUSTER_CHECK_PORT=''
cluster_node_ready() { [[ $(cluster_cli 5 -h 127.0.0.1 -p "$CLUSTER_CHECK_PORT" ping 2>/dev/null) == PONG ]]; }

start_redis_cluster() {
    local n pid t0 started=0 port running=0
    t0=$(now)
    if service_pid redis-cluster-1 >/dev/null && [[ $(mode_of redis-cluster-1) != "$(mode_wanted)" ]]; then
        # A cluster changes its ports' protocol only as a whole: stop it and form it anew
        # (it is a cache; nodes.conf would remember the old bus).
        say "redis-cluster: runs $(mode_of redis-cluster-1), $(mode_wanted) wanted (CONSENTFLOW_SECURE=$SECURE): forming it anew"
        stop_redis_cluster
        rm -rf "$DATA/redis-cluster"
    fi
    # nodes.conf records the peers' ports: started on other ports (REDIS_CLUSTER_BASE_PORT
    # changed, same state dir), the nodes would look for their old peers there — possibly another
    # cluster's nodes — and the cluster fails. The cluster holds no data (a cache), so forget it.
    for n in "${CLUSTER_NODES[@]}"; do service_pid "redis-cluster-$n" >/dev/null && running=1; done
    local marker=$DATA/redis-cluster/ports
    if ((!running)) && [[ -d $DATA/redis-cluster && ( ! -f $marker || $(<"$marker") != "$(cluster_addrs)" ) ]]; then
        rm -rf "$DATA/redis-cluster"
    fi
    mkdir -p "$DATA/redis-cluster" && cluster_addrs >"$marker"
    secure_on && ensure_tls
    for n in "${CLUSTER_NODES[@]}"; do
        service_pid "redis-cluster-$n" >/dev/null && continue
        port=$(cluster_port "$n")
        require_free_port "$port" "redis cluster node $n" REDIS_CLUSTER_BASE_PORT
        require_free_port "$(cluster_bus_port "$n")" "redis cluster bus of node $n" REDIS_CLUSTER_BASE_PORT
        cluster_node_config "$n"
        spawn "redis-cluster-$n" "$LOGS/redis-cluster-$n.out" redis-server "$CONF/redis-cluster-$n.conf"
        mode_wanted >"$PIDS/redis-cluster-$n.mode"
        started=1
    done
    for n in "${CLUSTER_NODES[@]}"; do
        pid=$(<"$(pidfile "redis-cluster-$n")")
        CLUSTER_CHECK_PORT=$(cluster_port "$n")
        wait_ready "redis-cluster-$n" "$pid" "$REDIS_START_TIMEOUT" cluster_node_ready "$LOGS/redis-cluster-$n.log" || exit 1
    done
    if ! cluster_ok; then
        # A node that already belongs to a cluster (nodes.conf) re-forms it by itself; only
        # brand-new nodes (each knows only itself) are joined here.
        local known
        known=$(cluster_cli 5 -h 127.0.0.1 -p "$(cluster_port 1)" cluster info 2>/dev/null | tr -d '\r' | awk -F: '/cluster_known_nodes/ {print $2}')
        if [[ ${known:-1} == 1 ]]; then
            local addrs=()
            for n in "${CLUSTER_NODES[@]}"; do addrs+=("127.0.0.1:$(cluster_port "$n")"); done
            if ! cluster_cli 60 --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes \
                >"$LOGS/redis-cluster-create.log" 2>&1; then
                tail -n 15 "$LOGS/redis-cluster-create.log" >&2
                die "redis cluster: 'redis-cli --cluster create' failed (log: $LOGS/redis-cluster-create.log)"
            fi
        fi
        wait_ready redis-cluster "$(<"$(pidfile redis-cluster-1)")" "$REDIS_START_TIMEOUT" cluster_ok "$LOGS/redis-cluster-1.log" ||
            die "redis cluster: not ok after ${REDIS_START_TIMEOUT}s (redis-cli -p $(cluster_port 1) cluster info)"
    fi
    if ((started)); then
        CLUSTER_STARTED_IN=$(elapsed "$t0")
        say "redis-cluster: 3 nodes, cluster_state ok, at $(cluster_addrs) in ${CLUSTER_STARTED_IN}s"
    else
        say "redis-cluster: already running and ok at $(cluster_addrs)"
    fi
}

stop_redis_cluster() {
    local n
    for n in "${CLUSTER_NODES[@]}"; do stop_service "redis-cluster-$n"; done
}

# ---- schema registry ------------------------------------------------------------------------
start_registry() {
    local pid t0 jar tls_opts=()
    remode schema-registry "$SCHEMA_REGISTRY_PORT"
    if pid=$(service_pid schema-registry); then
        if registry_ready; then
            say "schema-registry: already running (pid $pid) and healthy at $(registry_url)"
            return 0
        fi
        wait_ready schema-registry "$pid" "$SCHEMA_REGISTRY_START_TIMEOUT" registry_ready "$LOGS/schema-registry.log" || return 1
        say "schema-registry: running (pid $pid) and healthy"
        return 0
    fi
    if port_listening "$SCHEMA_REGISTRY_PORT"; then
        echo "services: ERROR: port $SCHEMA_REGISTRY_PORT (for schema-registry) is already in use$(o=$(port_owner "$SCHEMA_REGISTRY_PORT"); [[ -n $o ]] && echo " by $o"), not by a service this script started; set SCHEMA_REGISTRY_PORT=<free port>" >&2
        return 1
    fi
    ensure_java
    ( resolve_registry ) || return 1
    jar=$(registry_launcher) || return 1
    mkdir -p "$DATA/schema-registry/tmp"
    if secure_on; then
        ensure_tls
        tls_opts=(-Dquarkus.http.ssl-port="$SCHEMA_REGISTRY_TLS_PORT"
            -Dquarkus.http.ssl.certificate.files="$TLS/server.pem" -Dquarkus.http.ssl.certificate.key-files="$TLS/server-key.pem")
    fi
    t0=$(now)
    # In-memory storage (H2 in memory, the default of Apicurio 3.x): schemas are gone after a
    # restart. Deletes enabled so tests can clean up subjects as with Confluent's registry.
    # shellcheck disable=SC2086
    spawn schema-registry "$LOGS/schema-registry.log" \
        bash -c 'cd "$1" && shift && exec "$@"' _ "$DATA/schema-registry" \
        "$JAVA" $SCHEMA_REGISTRY_HEAP_OPTS $SCHEMA_REGISTRY_JVM_OPTS \
        -Dconsentflow.service=schema-registry -Dconsentflow.state="$STATE" \
        -Djava.io.tmpdir="$DATA/schema-registry/tmp" \
        -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$SCHEMA_REGISTRY_PORT" \
        -Dquarkus.banner.enabled=false -Dquarkus.log.console.color=false "${tls_opts[@]}" \
        -Dapicurio.rest.deletion.group.enabled=true \
        -Dapicurio.rest.deletion.artifact.enabled=true \
        -Dapicurio.rest.deletion.artifact-version.enabled=true \
        -jar "$jar"
    mode_wanted >"$PIDS/schema-registry.mode"
    pid=$(<"$(pidfile schema-registry)")
    wait_ready schema-registry "$pid" "$SCHEMA_REGISTRY_START_TIMEOUT" registry_ready "$LOGS/schema-registry.log" || return 1
    if secure_on && ! curl -sf --max-time 5 --cacert "$TLS/ca.pem" -o /dev/null "$(registry_tls_url)/subjects"; then
        echo "services: ERROR: schema-registry answers on http but not on https://127.0.0.1:$SCHEMA_REGISTRY_TLS_PORT (log: $LOGS/schema-registry.log)" >&2
        return 1
    fi
    REGISTRY_STARTED_IN=$(elapsed "$t0")
    say "schema-registry: Apicurio Registry $APICURIO_VERSION (pid $pid) ready at $(registry_url) in ${REGISTRY_STARTED_IN}s"
}

registry_wanted() {
    case $SCHEMA_REGISTRY_MODE in
        off | 0 | false | no) return 1 ;;
        *) return 0 ;;
    esac
}

registry_required() {
    case $SCHEMA_REGISTRY_MODE in
        required | 1 | true | yes) return 0 ;;
        *) return 1 ;;
    esac
}

# ---- postgres -------------------------------------------------------------------------------
postgres_wanted() {
    case $POSTGRES_MODE in
        off | 0 | false | no) return 1 ;;
        *) return 0 ;;
    esac
}

# pg_bin: the directory of Debian's PostgreSQL server binaries (installs postgresql when missing).
pg_bin() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [[ -x $d/postgres && -x $d/initdb ]] && { echo "$d"; return 0; }
    done
    return 1
}

ensure_postgres_package() {
    pg_bin >/dev/null && return 0
    command -v apt-get >/dev/null 2>&1 || die "postgres: no PostgreSQL server and no apt-get to install Debian's postgresql"
    local sudo=()
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "postgres: install it as root: apt-get install -y postgresql"
        sudo=(sudo -n)
    fi
    say "installing Debian's postgresql (log: $LOGS/apt.log)"
    if ! { "${sudo[@]}" apt-get update -q && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q postgresql; } >"$LOGS/apt.log" 2>&1; then
        tail -n 15 "$LOGS/apt.log" >&2
        die "apt-get install postgresql failed (full log: $LOGS/apt.log)"
    fi
    pg_bin >/dev/null || die "postgresql installed, but no /usr/lib/postgresql/*/bin/postgres"
}

# PostgreSQL refuses to run as root: as root the server runs as Debian's postgres user, which
# must reach its data directory. $STATE usually lives under /root (mode 700), so the cluster
# then lives under /var/tmp and $DATA/postgres links to it.
pg_user() { [[ $(id -u) == 0 ]] && echo postgres || id -un; }

pg_data() {
    if [[ -n ${POSTGRES_DATA:-} ]]; then echo "$POSTGRES_DATA"; return; fi
    if [[ $(id -u) != 0 ]]; then echo "$DATA/postgres"; return; fi
    echo "/var/tmp/consentflow-postgres-$(printf '%s' "$STATE" | sha256sum | cut -c1-12)"
}

pg_as_user() {
    if [[ $(id -u) == 0 ]]; then
        setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
    else
        "$@"
    fi
}

postgres_url() { echo "postgres://$(pg_user)@127.0.0.1:$POSTGRES_PORT/consentflow?sslmode=disable"; }

postgres_ready() {
    local bin; bin=$(pg_bin) || return 1
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -d postgres -U "$(pg_user)" >/dev/null 2>&1
}

postgres_init() {
    local bin=$1 pgdata; pgdata=$(pg_data)
    [[ -f $pgdata/PG_VERSION ]] && return 0
    local t0; t0=$(now)
    mkdir -p "$pgdata"
    if [[ $(id -u) == 0 ]]; then
        chown postgres:postgres "$pgdata"
        chmod 700 "$pgdata"
        if [[ $pgdata != "$DATA/postgres" ]]; then rm -rf "$DATA/postgres"; ln -s "$pgdata" "$DATA/postgres"; fi
    fi
    # Loopback only, trust authentication: a test database on 127.0.0.1, never exposed.
    if ! pg_as_user "$bin/initdb" -D "$pgdata" -U "$(pg_user)" --auth=trust --encoding=UTF8 --no-locale \
        >"$LOGS/postgres-initdb.log" 2>&1; then
        cat "$LOGS/postgres-initdb.log" >&2
        die "postgres: initdb failed (log: $LOGS/postgres-initdb.log)"
    fi
    say "postgres: initialized $pgdata in $(elapsed "$t0")s"
}

start_postgres() {
    local pid t0 bin pgdata
    if pid=$(service_pid postgres); then
        if postgres_ready; then
            say "postgres: already running (pid $pid) and healthy on 127.0.0.1:$POSTGRES_PORT"
            return 0
        fi
        wait_ready postgres "$pid" "$POSTGRES_START_TIMEOUT" postgres_ready "$LOGS/postgres.log" ||
            die "postgres: pid $pid does not answer on 127.0.0.1:$POSTGRES_PORT"
        return 0
    fi
    require_free_port "$POSTGRES_PORT" "postgres" POSTGRES_PORT
    ensure_postgres_package
    bin=$(pg_bin)
    postgres_init "$bin"
    pgdata=$(pg_data)
    t0=$(now)
    # No unix socket (TCP on 127.0.0.1 only); fsync stays on: the catalog's commits must be durable.
    local run=()
    [[ $(id -u) == 0 ]] && run=(setpriv --reuid=postgres --regid=postgres --init-groups --)
    spawn postgres "$LOGS/postgres.log" "${run[@]}" "$bin/postgres" -D "$pgdata" -p "$POSTGRES_PORT" \
        -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=200 \
        -c shared_buffers=64MB -c cluster_name=consentflow
    pid=$(<"$(pidfile postgres)")
    wait_ready postgres "$pid" "$POSTGRES_START_TIMEOUT" postgres_ready "$LOGS/postgres.log" || exit 1
    if ! pg_as_user "$bin/psql" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U "$(pg_user)" -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'consentflow'" | grep -q 1; then
        pg_as_user "$bin/createdb" -h 127.0.0.1 -p "$POSTGRES_PORT" -U "$(pg_user)" consentflow ||
            die "postgres: createdb consentflow failed"
    fi
    POSTGRES_STARTED_IN=$(elapsed "$t0")
    say "postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') (pid $pid) ready on 127.0.0.1:$POSTGRES_PORT in ${POSTGRES_STARTED_IN}s"
}

# ---- commands -------------------------------------------------------------------------------
UP_REGISTRY_JOB=''
up_cleanup() {
    local rc=$?
    if [[ -n $UP_REGISTRY_JOB ]]; then
        kill -TERM "$UP_REGISTRY_JOB" 2>/dev/null || true
        wait "$UP_REGISTRY_JOB" 2>/dev/null || true
        stop_service schema-registry >/dev/null 2>&1 || true
        rm -f "$STATE/.registry-up.out" "$STATE/.registry-up.out.time"
        echo "services: up failed; stopped the schema-registry it had started" >&2
    fi
    exit "$rc"
}

cmd_up() {
    local t0; t0=$(now)
    KAFKA_STARTED_IN='' REDIS_STARTED_IN='' REGISTRY_STARTED_IN=''
    # Ports first, for everything that is not running yet: fail before starting anything.
    service_pid kafka >/dev/null || {
        require_free_port "$KAFKA_PORT" "kafka broker" KAFKA_PORT
        require_free_port "$KAFKA_CONTROLLER_PORT" "kafka controller" KAFKA_CONTROLLER_PORT
    }
    service_pid redis >/dev/null || require_free_port "$REDIS_PORT" "redis" REDIS_PORT
    if cluster_wanted; then
        local n
        for n in "${CLUSTER_NODES[@]}"; do
            service_pid "redis-cluster-$n" >/dev/null && continue
            require_free_port "$(cluster_port "$n")" "redis cluster node $n" REDIS_CLUSTER_BASE_PORT
            require_free_port "$(cluster_bus_port "$n")" "redis cluster bus of node $n" REDIS_CLUSTER_BASE_PORT
        done
    fi
    if postgres_wanted; then service_pid postgres >/dev/null || require_free_port "$POSTGRES_PORT" "postgres" POSTGRES_PORT; fi
    ensure_debian_packages
    ensure_java
    if secure_on; then ensure_tls; fi
    # Maven is needed only for a first download; install it (if missing) before the two
    # downloads can run in parallel, so that two apt-get never race.
    if ! [[ -f $KAFKA_HOME/.complete ]] || { registry_wanted && ! [[ -f $REGISTRY_HOME/.complete ]]; }; then
        ensure_maven
    fi
    # The registry (a Quarkus app, CPU-bound while it boots) starts in the background while the
    # broker starts: on 2 cores that saves several seconds of wall time. Its messages are
    # printed after Kafka's and Redis's.
    local reg_pid='' reg_out=$STATE/.registry-up.out reg_rc=0
    if registry_wanted; then
        (
            trap 'echo "$REGISTRY_STARTED_IN" >"$reg_out.time"' EXIT
            start_registry
        ) >"$reg_out" 2>&1 &
        reg_pid=$!
        # If Kafka or Redis fail (die -> exit), do not leave the registry behind.
        UP_REGISTRY_JOB=$reg_pid
        trap 'up_cleanup' EXIT
    fi
    start_kafka
    start_redis
    CLUSTER_STARTED_IN=''
    if cluster_wanted; then start_redis_cluster; fi
    POSTGRES_STARTED_IN=''
    if postgres_wanted; then start_postgres; fi
    if [[ -n $reg_pid ]]; then
        wait "$reg_pid" || reg_rc=$?
        trap - EXIT
        UP_REGISTRY_JOB=''
        cat "$reg_out"
        REGISTRY_STARTED_IN=$(cat "$reg_out.time" 2>/dev/null || true)
        rm -f "$reg_out" "$reg_out.time"
        if ((reg_rc != 0)); then
            # Leave nothing half-started behind.
            stop_service schema-registry >/dev/null 2>&1 || true
            if registry_required; then
                die "schema-registry failed to start (CONSENTFLOW_SCHEMA_REGISTRY=$SCHEMA_REGISTRY_MODE)"
            fi
            warn "schema-registry did not start; going on without it (env will not print SCHEMA_REGISTRY_URL; tests use the in-process registry)"
        fi
    fi
    local reg_summary=''
    if registry_wanted; then
        if ((reg_rc != 0)); then reg_summary=", schema-registry FAILED (see above)"
        else reg_summary=", schema-registry ${REGISTRY_STARTED_IN:-(already up)}${REGISTRY_STARTED_IN:+s}"; fi
    else
        reg_summary=", schema-registry off"
    fi
    local pg_summary=", postgres off"
    postgres_wanted && pg_summary=", postgres ${POSTGRES_STARTED_IN:-(already up)}${POSTGRES_STARTED_IN:+s}"
    local cluster_summary=', redis-cluster off'
    if cluster_wanted; then cluster_summary=", redis-cluster ${CLUSTER_STARTED_IN:-(already up)}${CLUSTER_STARTED_IN:+s}"; fi
    say "up in $(elapsed "$t0")s total; start-up: kafka ${KAFKA_STARTED_IN:-(already up)}${KAFKA_STARTED_IN:+s}, redis ${REDIS_STARTED_IN:-(already up)}${REDIS_STARTED_IN:+s}$cluster_summary$reg_summary$pg_summary"
    say "logs in $LOGS; use: eval \"\$(scripts/services.sh env)\""
}

cmd_down() {
    stop_service schema-registry
    stop_service kafka
    stop_service redis
    stop_redis_cluster
    stop_service postgres
}

cmd_status() {
    local ok=0 pid line
    for name in kafka redis schema-registry postgres; do
        if pid=$(service_pid "$name"); then
            case $name in
                kafka) line="127.0.0.1:$KAFKA_PORT (controller 127.0.0.1:$KAFKA_CONTROLLER_PORT), Apache Kafka $KAFKA_VERSION"
                       [[ $(mode_of kafka) == secure ]] && line+=", SASL_SSL 127.0.0.1:$KAFKA_SASL_SSL_PORT"
                       kafka_ready && line+=", ready" || { line+=", NOT answering"; ok=3; } ;;
                redis) line="127.0.0.1:$REDIS_PORT"
                       [[ $(mode_of redis) == secure ]] && line+=", TLS 127.0.0.1:$REDIS_TLS_PORT (ACL user $SECURE_USER)"
                       redis_ready && line+=", ready" || { line+=", NOT answering"; ok=3; } ;;
                schema-registry) line="$(registry_url), Apicurio $APICURIO_VERSION"
                       registry_ready && line+=", ready" || line+=", NOT answering" ;;
                postgres) line="127.0.0.1:$POSTGRES_PORT, data $(pg_data)"
                       postgres_ready && line+=", ready" || line+=", NOT answering" ;;
            esac
            printf '%-16s running  pid %-7s %s\n' "$name" "$pid" "$line"
        else
            printf '%-16s stopped\n' "$name"
            [[ $name == schema-registry || $name == postgres ]] || ok=3
        fi
    done
    if cluster_wanted; then
        local up=0 n
        for n in "${CLUSTER_NODES[@]}"; do service_pid "redis-cluster-$n" >/dev/null && up=$((up + 1)); done
        if ((up == ${#CLUSTER_NODES[@]})); then
            line="$(cluster_addrs)"
            if cluster_ok; then line+=", cluster_state ok"; else line+=", NOT ok"; ok=3; fi
            printf '%-16s running  %s\n' redis-cluster "$line"
        else
            printf '%-16s %d of %d nodes running\n' redis-cluster "$up" "${#CLUSTER_NODES[@]}"
            ok=3
        fi
    fi
    printf '%-16s %s\n' "state dir" "$STATE (logs/ pids/ data/ conf/)"
    printf '%-16s %s\n' "kafka libs" "$KAFKA_LIBS$([[ -d $KAFKA_LIBS ]] || echo ' (not resolved yet)')"
    return $ok
}

# The connection variables of the secured mode (cleared in plain mode, so that an environment
# evaluated before does not linger).
SECURE_VARS="KAFKA_TLS_ENABLED KAFKA_TLS_CA_FILE KAFKA_TLS_CERT_FILE KAFKA_TLS_KEY_FILE KAFKA_TLS_SERVER_NAME
KAFKA_SASL_MECHANISM KAFKA_SASL_USERNAME KAFKA_SASL_PASSWORD KAFKA_SASL_PASSWORD_FILE REDIS_USERNAME REDIS_PASSWORD
REDIS_PASSWORD_FILE REDIS_TLS_ENABLED REDIS_TLS_CA_FILE REDIS_TLS_CERT_FILE REDIS_TLS_KEY_FILE REDIS_TLS_SERVER_NAME
SCHEMA_REGISTRY_USERNAME SCHEMA_REGISTRY_PASSWORD SCHEMA_REGISTRY_PASSWORD_FILE SCHEMA_REGISTRY_TLS_CA_FILE"

cmd_env() {
    local pid
    # shellcheck disable=SC2086
    echo "unset" $SECURE_VARS
    if secure_on; then
        # Passwords as *_FILE, as a Kubernetes or Docker secret gives them.
        if pid=$(service_pid kafka) && [[ $(mode_of kafka) == secure ]]; then
            echo "export KAFKA_BROKERS=127.0.0.1:$KAFKA_SASL_SSL_PORT"
            echo "export KAFKA_TLS_CA_FILE=$TLS/ca.pem KAFKA_TLS_CERT_FILE=$TLS/client.pem KAFKA_TLS_KEY_FILE=$TLS/client-key.pem"
            echo "export KAFKA_SASL_MECHANISM=SCRAM-SHA-512 KAFKA_SASL_USERNAME=$SECURE_USER KAFKA_SASL_PASSWORD_FILE=$SECRETS/kafka-password"
        else
            echo "services: kafka does not run secured (CONSENTFLOW_SECURE=1 scripts/services.sh up); KAFKA_BROKERS not set" >&2
        fi
        if pid=$(service_pid redis) && [[ $(mode_of redis) == secure ]]; then
            echo "export REDIS_ADDR=127.0.0.1:$REDIS_TLS_PORT REDIS_USERNAME=$SECURE_USER REDIS_PASSWORD_FILE=$SECRETS/redis-password"
            echo "export REDIS_TLS_CA_FILE=$TLS/ca.pem REDIS_TLS_CERT_FILE=$TLS/client.pem REDIS_TLS_KEY_FILE=$TLS/client-key.pem"
        else
            echo "services: redis does not run secured; REDIS_ADDR not set" >&2
        fi
        if pid=$(service_pid schema-registry) && [[ $(mode_of schema-registry) == secure ]] && registry_ready; then
            echo "export SCHEMA_REGISTRY_URL=$(registry_tls_url) SCHEMA_REGISTRY_TLS_CA_FILE=$TLS/ca.pem"
        fi
    else
        if pid=$(service_pid kafka); then
            echo "export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
        else
            echo "services: kafka not running (scripts/services.sh up); KAFKA_BROKERS not set" >&2
        fi
        if pid=$(service_pid redis) && [[ $(mode_of redis) == plain ]]; then
            echo "export REDIS_ADDR=127.0.0.1:$REDIS_PORT"
        else
            echo "services: redis not running (or runs secured: scripts/services.sh up restarts it); REDIS_ADDR not set" >&2
        fi
        if pid=$(service_pid schema-registry) && registry_ready; then
            echo "export SCHEMA_REGISTRY_URL=$(registry_url)"
        fi
    fi
    if cluster_wanted && service_pid redis-cluster-1 >/dev/null && [[ $(mode_of redis-cluster-1) == "$(mode_wanted)" ]]; then
        # Secured, the cluster takes the TLS and ACL settings of REDIS_* above.
        echo "export REDIS_CLUSTER_ADDRS=$(cluster_addrs)"
    fi
    if pid=$(service_pid postgres) && postgres_ready; then
        echo "export POSTGRES_URL='$(postgres_url)'"
    fi
    if [[ -d $KAFKA_LIBS ]]; then
        echo "export KAFKA_LIBS=$KAFKA_LIBS"
        echo "export KAFKA_VERSION=$KAFKA_VERSION"
    fi
    echo "export CONSENTFLOW_SERVICES_DIR=$STATE"
}

cmd_restart_kafka() {
    local t0; t0=$(now)
    stop_service kafka
    wait_port_free "$KAFKA_PORT"
    KAFKA_STARTED_IN=''
    start_kafka
    say "kafka: restarted in $(elapsed "$t0")s"
}

cmd_restart_redis() {
    local t0; t0=$(now)
    stop_service redis
    wait_port_free "$REDIS_PORT"
    command -v redis-server >/dev/null 2>&1 || ensure_debian_packages
    start_redis
    say "redis: restarted in $(elapsed "$t0")s"
}

cmd_clean() {
    cmd_down
    [[ -L $DATA/postgres ]] && rm -rf "$(readlink "$DATA/postgres")"
    rm -rf "$DATA"
    say "removed $DATA (downloads in $CACHE kept)"
}

cmd_kafka_tool() {
    (($# >= 1)) || die "usage: scripts/services.sh kafka-tool CLASS [ARGS...]"
    ensure_java
    resolve_kafka
    exec "$JAVA" ${KAFKA_TOOL_HEAP_OPTS:--Xmx512m} -cp "$KAFKA_LIBS/*" \
        -Dlog4j2.configurationFile="$DEPLOY/kafka/tools-log4j2.properties" "$@"
}

main() {
    local cmd=${1:-}
    [[ $# -gt 0 ]] && shift
    case $cmd in
        up)            lock; cmd_up ;;
        down)          lock; cmd_down ;;
        status)        mkdirs; cmd_status ;;
        env)           cmd_env ;;
        restart-kafka) lock; cmd_restart_kafka ;;
        restart-redis) lock; cmd_restart_redis ;;
        clean)         lock; cmd_clean ;;
        kafka-tool)    mkdirs; cmd_kafka_tool "$@" ;;
        # Downloads only (the compose test's stand-in images are built from them): prints
        # KAFKA_LIBS=<dir> and REGISTRY_APP=<dir> on stdout, progress on stderr.
        fetch)         mkdirs; { resolve_kafka; resolve_registry; } >&2
                       echo "KAFKA_LIBS=$KAFKA_LIBS"; echo "REGISTRY_APP=$REGISTRY_HOME/app" ;;
        -h | --help | help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' ;;
        *) echo "usage: scripts/services.sh up|down|status|env|restart-kafka|restart-redis|clean|fetch|kafka-tool CLASS [ARGS...]" >&2; exit 2 ;;
    esac
}

main "$@"
