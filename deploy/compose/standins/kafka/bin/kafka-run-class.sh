#!/usr/bin/env bash
# kafka-run-class.sh CLASS [ARGS...] -- the Kafka stand-in's launcher (the distribution's
# script of that name, reduced): the same environment variables and defaults.
set -euo pipefail
base=/opt/kafka
heap=${KAFKA_HEAP_OPTS:--Xmx256M}
perf=${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true}
log4j=${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$base/config/tools-log4j2.properties}
# shellcheck disable=SC2086 # the *_OPTS are word lists
exec java $heap $perf ${KAFKA_JMX_OPTS:-} $log4j ${KAFKA_OPTS:-} -cp "$base/libs/*" "$@"
