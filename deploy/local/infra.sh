#!/usr/bin/env bash
# Local infrastructure of repairline: a single-node Kafka (KRaft) and a
# PostgreSQL cluster, both project-local under .local/ (git-ignored), both on
# 127.0.0.1 only. No Docker: Kafka runs from jars resolved by Maven, PostgreSQL
# from Debian's packages.
#
#   deploy/local/infra.sh up       start both (installs/resolves on first run)
#   deploy/local/infra.sh down     stop both, keeping their data
#   deploy/local/infra.sh status   what runs where; non-zero unless both run
#   deploy/local/infra.sh env      export lines for the services:
#                                  eval "$(deploy/local/infra.sh env)"
#   deploy/local/infra.sh kafka-restart   stop and start the broker (fault drills)
#   deploy/local/infra.sh pg-crash        stop PostgreSQL with -m immediate, as a crash
#                                         would (fault drills; 'up' starts it again)
#
# Settings (environment):
#   REPAIRLINE_KAFKA_PORT             broker port             (default 19092)
#   REPAIRLINE_KAFKA_CONTROLLER_PORT  KRaft controller port   (default 19093)
#   REPAIRLINE_PG_PORT                PostgreSQL port         (default 15432)
#   REPAIRLINE_LOCAL_DIR              state directory         (default .local,
#                                     relative paths from the repo root)
#   REPAIRLINE_M2_REPO                Maven repository the broker's jars are resolved
#                                     from (default <state directory>/m2)
#   REPAIRLINE_KAFKA_HEAP_OPTS        broker heap             (default -Xms512m -Xmx768m)
#   REPAIRLINE_KAFKA_START_TIMEOUT    seconds to wait for the broker (default 120)
#   REPAIRLINE_KAFKA_STOP_TIMEOUT     seconds before SIGKILL  (default 60)
#   REPAIRLINE_PG_START_TIMEOUT       seconds to wait for PostgreSQL (default 60)
set -euo pipefail

INFRA_DIR="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)"

# shellcheck source=lib/common.sh
source "$INFRA_DIR/lib/common.sh"
# shellcheck source=lib/kafka.sh
source "$INFRA_DIR/lib/kafka.sh"
# shellcheck source=lib/postgres.sh
source "$INFRA_DIR/lib/postgres.sh"

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$INFRA_DIR/infra.sh"
}

cmd_up() {
    check_settings
    take_lock
    local start=$SECONDS
    # the TLS tests make their throwaway certificates with the openssl command
    command -v openssl >/dev/null 2>&1 || apt_install openssl
    # The broker JVM boots while PostgreSQL starts; then wait for the broker.
    kafka_launch
    pg_up
    kafka_wait_ready
    log "up ($((SECONDS - start))s); services read: $(cmd_env | sed 's/^export //' | paste -sd' ')"
}

cmd_down() {
    take_lock
    kafka_down
    pg_down
}

cmd_status() {
    check_settings
    local rc=0
    kafka_status || rc=1
    pg_status || rc=1
    return "$rc"
}

cmd_env() {
    check_settings
    printf 'export REPAIRLINE_KAFKA_BOOTSTRAP=%s:%s\n' "$BIND_HOST" "$KAFKA_PORT"
    printf 'export REPAIRLINE_PG_DSN=postgresql://%s@%s:%s\n' "$PG_SUPERUSER" "$BIND_HOST" "$PG_PORT"
}

main() {
    case "${1:-}" in
        up) cmd_up ;;
        down) cmd_down ;;
        status) cmd_status ;;
        env) cmd_env ;;
        kafka-restart)
            check_settings
            take_lock
            kafka_down
            kafka_launch
            kafka_wait_ready
            ;;
        pg-crash)
            check_settings
            take_lock
            pg_down immediate
            ;;
        -h | --help | help) usage ;;
        *)
            usage >&2
            exit 2
            ;;
    esac
}

main "$@"
