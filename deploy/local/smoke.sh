#!/usr/bin/env bash
# End-to-end check of the local infrastructure started by infra.sh up:
#  - Kafka: create a throw-away topic, produce one record, consume it back,
#    delete the topic (Kafka's own CLI classes, same classpath as the broker);
#  - PostgreSQL: `select 1` in every service database over TCP.
# Same settings (REPAIRLINE_*) as infra.sh. Exits non-zero on any failure.
set -euo pipefail

INFRA_DIR="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)"
# shellcheck source=lib/common.sh
source "$INFRA_DIR/lib/common.sh"
# shellcheck source=lib/kafka.sh
source "$INFRA_DIR/lib/kafka.sh"
# shellcheck source=lib/postgres.sh
source "$INFRA_DIR/lib/postgres.sh"

check_settings
find_java
[[ -f "$KAFKA_STAMP" ]] || die "no Kafka jars in $KAFKA_LIBS; run infra.sh up first"

bootstrap="$BIND_HOST:$KAFKA_PORT"
topic="infra-smoke-$$-$RANDOM"
payload="repairline smoke $(date -Is)"

# CLI classes run without a log4j2 config: log4j's default prints errors only.
kafka_cli() { kafka_tool_java "$@"; }

cleanup() {
    kafka_cli org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
        --delete --if-exists --topic "$topic" >/dev/null 2>&1 || true
}
trap cleanup EXIT

log "smoke: kafka $bootstrap: create topic $topic"
kafka_cli org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
    --create --topic "$topic" --partitions 1 --replication-factor 1 >&2

log "smoke: kafka: produce one record"
printf '%s\n' "$payload" |
    kafka_cli org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$bootstrap" \
        --topic "$topic" >&2

log "smoke: kafka: consume it back"
got="$(kafka_cli org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$bootstrap" \
    --topic "$topic" --from-beginning --max-messages 1 --timeout-ms 30000 2>/dev/null)"
[[ "$got" == "$payload" ]] || die "smoke: kafka: expected '$payload', consumed '$got'"
log "smoke: kafka: consumed '$got'"

log "smoke: kafka: delete topic $topic"
kafka_cli org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
    --delete --topic "$topic" >&2
trap - EXIT

pg_find_bin
for db in "${PG_DATABASES[@]}"; do
    out="$(pg_psql -d "$db" -tAc 'select 1')"
    [[ "$out" == 1 ]] || die "smoke: postgres: 'select 1' in $db returned '$out'"
done
log "smoke: postgres $BIND_HOST:$PG_PORT: select 1 ok in ${PG_DATABASES[*]}"
log "smoke: ok"
