#!/usr/bin/env bash
# The Kafka stand-in's /opt/kafka/bin/<tool>.sh: each name is a link to this file, which runs
# the class the Apache distribution's script of that name runs.
set -euo pipefail
bin=/opt/kafka/bin
case $(basename "$0" .sh) in
    kafka-server-start)
        # As the distribution's script: a 1 GiB heap and the broker's log4j configuration.
        export KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}
        export KAFKA_LOG4J_OPTS=${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties}
        exec "$bin/kafka-run-class.sh" kafka.Kafka "$@" ;;
    kafka-storage)               exec "$bin/kafka-run-class.sh" kafka.tools.StorageTool "$@" ;;
    kafka-topics)                exec "$bin/kafka-run-class.sh" org.apache.kafka.tools.TopicCommand "$@" ;;
    kafka-console-consumer)      exec "$bin/kafka-run-class.sh" org.apache.kafka.tools.consumer.ConsoleConsumer "$@" ;;
    kafka-console-producer)      exec "$bin/kafka-run-class.sh" org.apache.kafka.tools.ConsoleProducer "$@" ;;
    kafka-broker-api-versions)   exec "$bin/kafka-run-class.sh" org.apache.kafka.tools.BrokerApiVersionsCommand "$@" ;;
    kafka-consumer-groups)       exec "$bin/kafka-run-class.sh" org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "$@" ;;
    kafka-configs)               exec "$bin/kafka-run-class.sh" kafka.admin.ConfigCommand "$@" ;;
    kafka-get-offsets)           exec "$bin/kafka-run-class.sh" org.apache.kafka.tools.GetOffsetShell "$@" ;;
    kafka-metadata-quorum)       exec "$bin/kafka-run-class.sh" org.apache.kafka.tools.MetadataQuorumCommand "$@" ;;
    kafka-log-dirs)              exec "$bin/kafka-run-class.sh" org.apache.kafka.tools.LogDirsCommand "$@" ;;
    kafka-delete-records)        exec "$bin/kafka-run-class.sh" org.apache.kafka.tools.DeleteRecordsCommand "$@" ;;
    kafka-producer-perf-test)    exec "$bin/kafka-run-class.sh" org.apache.kafka.tools.ProducerPerformance "$@" ;;
    kafka-consumer-perf-test)    exec "$bin/kafka-run-class.sh" org.apache.kafka.tools.ConsumerPerformance "$@" ;;
    *) echo "kafka stand-in: no tool named $(basename "$0")" >&2; exit 2 ;;
esac
