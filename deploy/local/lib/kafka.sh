# shellcheck shell=bash
# Local single-node Kafka (KRaft, combined broker + controller), run straight
# from the jars that Maven resolves from deploy/local/kafka/pom.xml.
# Sourced by infra.sh after common.sh.

KAFKA_SRC="$INFRA_DIR/kafka"
KAFKA_POM="$KAFKA_SRC/pom.xml"
KAFKA_DIR="$LOCAL_DIR/kafka"
KAFKA_LIBS="$KAFKA_DIR/libs"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_LOGS="$KAFKA_DIR/logs"
KAFKA_PROPS="$KAFKA_DIR/server.properties"
KAFKA_PID_FILE="$KAFKA_DIR/kafka.pid"
KAFKA_STAMP="$KAFKA_LIBS/.resolved"
M2_REPO="${REPAIRLINE_M2_REPO:-$LOCAL_DIR/m2}"

KAFKA_HEAP_OPTS="${REPAIRLINE_KAFKA_HEAP_OPTS:--Xms512m -Xmx768m}"
KAFKA_START_TIMEOUT="${REPAIRLINE_KAFKA_START_TIMEOUT:-120}"
KAFKA_STOP_TIMEOUT="${REPAIRLINE_KAFKA_STOP_TIMEOUT:-60}"

# Printed by kafka.server.KafkaRaftServer once the broker is unfenced and
# serving, i.e. really ready for clients.
KAFKA_READY_LINE="Kafka Server started"

kafka_version() {
    sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM" | head -n 1
}

kafka_classpath() { printf '%s/*' "$KAFKA_LIBS"; }

# JVM flags for short-lived CLI runs (StorageTool): start fast, stay small.
kafka_tool_java() {
    "$JAVA_BIN" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -cp "$(kafka_classpath)" "$@"
}

# ---------------------------------------------------------------- jars ---
# True when .local/kafka/libs holds the jars of the current pom.xml.
kafka_libs_current() {
    [[ -f "$KAFKA_STAMP" &&
        "$(head -n 1 "$KAFKA_STAMP")" == "$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)" &&
        -f "$KAFKA_LIBS/kafka_2.13-$(kafka_version).jar" ]]
}

# Resolve the runtime jars into .local/kafka/libs unless the stamp says the
# current pom.xml was already resolved there.
kafka_resolve() {
    kafka_libs_current && return 0
    local want version
    want="$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)"
    version="$(kafka_version)"
    find_mvn
    mkdir -p "$KAFKA_LOGS" "$M2_REPO"
    log "resolving Kafka $version jars with Maven into $KAFKA_LIBS (first run, or pom.xml changed)"
    local staging="$KAFKA_DIR/libs.partial" mvn_log="$KAFKA_LOGS/mvn-resolve.log"
    rm -rf "$staging"
    # Project-local Maven repository: nothing is written to ~/.m2.
    if ! mvn -B --no-transfer-progress -f "$KAFKA_POM" \
        -Dmaven.repo.local="$M2_REPO" \
        dependency:copy-dependencies -DoutputDirectory="$staging" \
        >"$mvn_log" 2>&1; then
        show_tail "$mvn_log" 30
        die "Maven could not resolve the Kafka jars (full log: $mvn_log)"
    fi
    [[ -f "$staging/kafka_2.13-$version.jar" ]] ||
        die "Maven finished but kafka_2.13-$version.jar is missing in $staging"
    # Swap in the complete set so an interrupted run never leaves half a classpath.
    rm -rf "$KAFKA_LIBS"
    mv "$staging" "$KAFKA_LIBS"
    printf '%s\nkafka %s\n' "$want" "$version" >"$KAFKA_STAMP"
    log "resolved $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars"
}

# ---------------------------------------------------------- properties ---
kafka_render_properties() {
    # shellcheck disable=SC2153 # KAFKA_PORT is set in common.sh
    sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
        -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
        -e "s|@DATA_DIR@|$KAFKA_DATA|g" \
        "$KAFKA_SRC/server.properties.in"
}

# ------------------------------------------------------------- process ---
# Prints the broker pid and succeeds when our broker is running.
kafka_pid() {
    local pid
    [[ -f "$KAFKA_PID_FILE" ]] || return 1
    pid="$(head -n 1 "$KAFKA_PID_FILE" 2>/dev/null)" || return 1
    pid_matches "$pid" "kafka.Kafka " || return 1
    pid_has_path_arg "$pid" "$KAFKA_PROPS" || return 1
    printf '%s\n' "$pid"
}

kafka_clear_stale_pid() {
    if [[ -f "$KAFKA_PID_FILE" ]] && ! kafka_pid >/dev/null; then
        log "kafka: removing stale pid file (pid $(head -n 1 "$KAFKA_PID_FILE" 2>/dev/null || true) is not our broker)"
        rm -f "$KAFKA_PID_FILE"
    fi
}

# Format the KRaft metadata/log directory once (meta.properties marks it).
kafka_format() {
    [[ -f "$KAFKA_DATA/meta.properties" ]] && return 0
    local format_log="$KAFKA_LOGS/storage-format.log" cluster_id
    log "kafka: formatting $KAFKA_DATA (single-node KRaft)"
    mkdir -p "$KAFKA_DATA"
    if ! cluster_id="$(kafka_tool_java kafka.tools.StorageTool random-uuid 2>>"$format_log")" ||
        [[ -z "$cluster_id" ]]; then
        show_tail "$format_log"
        die "kafka: could not generate a cluster id"
    fi
    if ! kafka_tool_java kafka.tools.StorageTool format \
        --config "$KAFKA_PROPS" --cluster-id "$cluster_id" >>"$format_log" 2>&1; then
        show_tail "$format_log"
        die "kafka: formatting $KAFKA_DATA failed"
    fi
}

# Start the broker in the background, without waiting for it to be ready
# (postgres starts meanwhile; kafka_wait_ready follows).
KAFKA_LAUNCHED=0
KAFKA_LOG_OFFSET=0
KAFKA_OUT_OFFSET=0
kafka_launch() {
    local pid rendered
    rendered="$(kafka_render_properties)"
    if pid="$(kafka_pid)"; then
        # Never swap jars or config under a running broker; just say so.
        if [[ "$rendered" != "$(cat "$KAFKA_PROPS" 2>/dev/null)" ]]; then
            warn "kafka: configuration changed since it started; run 'infra.sh down && infra.sh up' to apply"
        fi
        kafka_libs_current ||
            warn "kafka: pom.xml changed since the jars were resolved; run 'infra.sh down && infra.sh up' to apply"
        log "kafka: already running (pid $pid) on $BIND_HOST:$KAFKA_PORT"
        return 0
    fi
    kafka_clear_stale_pid

    local port
    for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
        ! port_open "$port" ||
            die "kafka: port $BIND_HOST:$port is already in use by another process (set REPAIRLINE_KAFKA_PORT / REPAIRLINE_KAFKA_CONTROLLER_PORT)"
    done

    find_java
    kafka_resolve
    mkdir -p "$KAFKA_DATA" "$KAFKA_LOGS"
    printf '%s\n' "$rendered" >"$KAFKA_PROPS"
    kafka_format

    local -a jvm_opts
    read -r -a jvm_opts <<<"$KAFKA_HEAP_OPTS"
    # Kafka's own defaults for the broker JVM (as in kafka-server-start.sh).
    jvm_opts+=(
        -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
        -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError
        -Djava.awt.headless=true
        -Dkafka.logs.dir="$KAFKA_LOGS"
        -Dlog4j2.configurationFile="$KAFKA_SRC/log4j2.xml"
    )

    local server_log="$KAFKA_LOGS/server.log"
    # Only log lines written after this offset count for readiness.
    KAFKA_LOG_OFFSET="$(stat -c %s "$server_log" 2>/dev/null || echo 0)"
    KAFKA_OUT_OFFSET="$(stat -c %s "$KAFKA_LOGS/kafka.out" 2>/dev/null || echo 0)"
    printf '==== %s starting kafka %s\n' "$(date -Is)" "$(kafka_version)" >>"$KAFKA_LOGS/kafka.out"

    log "kafka: starting $(kafka_version) on $BIND_HOST:$KAFKA_PORT (controller $BIND_HOST:$KAFKA_CONTROLLER_PORT)"
    rm -f "$KAFKA_PID_FILE"
    # setsid detaches the broker from the calling terminal, so Ctrl-C there
    # does not reach it. The wrapper shell writes its own pid, then execs java in place,
    # so the pid file holds the JVM's pid.
    # shellcheck disable=SC2016 # $$ and $@ expand in the wrapper shell
    setsid bash -c 'printf "%s\n" "$$" >"$0"; exec "$@"' "$KAFKA_PID_FILE" \
        "$JAVA_BIN" "${jvm_opts[@]}" -cp "$(kafka_classpath)" kafka.Kafka "$KAFKA_PROPS" \
        </dev/null >>"$KAFKA_LOGS/kafka.out" 2>&1 9>&- &
    local i
    for ((i = 0; i < 50; i++)); do
        [[ -s "$KAFKA_PID_FILE" ]] && break
        sleep 0.1
    done
    [[ -s "$KAFKA_PID_FILE" ]] || die "kafka: the broker process did not start (see $KAFKA_LOGS/kafka.out)"
    KAFKA_LAUNCHED=1
}

kafka_fail_start() {
    show_tail "$KAFKA_LOGS/server.log" 40 "$KAFKA_LOG_OFFSET"
    show_tail "$KAFKA_LOGS/kafka.out" 20 "$KAFKA_OUT_OFFSET"
    die "kafka: $*"
}

# Wait until a broker launched by kafka_launch logs that it started and
# accepts TCP connections.
kafka_wait_ready() {
    ((KAFKA_LAUNCHED == 1)) || return 0
    local server_log="$KAFKA_LOGS/server.log" pid start=$SECONDS
    pid="$(head -n 1 "$KAFKA_PID_FILE")"
    while :; do
        if ! pid_alive "$pid"; then
            rm -f "$KAFKA_PID_FILE"
            kafka_fail_start "the broker exited during startup"
        fi
        if [[ -f "$server_log" ]] &&
            tail -c "+$((KAFKA_LOG_OFFSET + 1))" "$server_log" | grep -F -- "$KAFKA_READY_LINE" >/dev/null &&
            port_open "$KAFKA_PORT"; then
            break
        fi
        if ((SECONDS - start >= KAFKA_START_TIMEOUT)); then
            # Do not leave a half-started broker behind.
            kill -TERM "$pid" 2>/dev/null || true
            wait_exit "$pid" 20 || kill -KILL "$pid" 2>/dev/null || true
            rm -f "$KAFKA_PID_FILE"
            kafka_fail_start "not ready after ${KAFKA_START_TIMEOUT}s (REPAIRLINE_KAFKA_START_TIMEOUT); stopped it"
        fi
        sleep 0.2
    done
    log "kafka: ready on $BIND_HOST:$KAFKA_PORT (pid $pid, $((SECONDS - start))s)"
}

kafka_down() {
    local pid
    if ! pid="$(kafka_pid)"; then
        kafka_clear_stale_pid
        log "kafka: not running"
        return 0
    fi
    log "kafka: stopping (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_exit "$pid" "$KAFKA_STOP_TIMEOUT"; then
        warn "kafka: still running after ${KAFKA_STOP_TIMEOUT}s (REPAIRLINE_KAFKA_STOP_TIMEOUT); sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_exit "$pid" 10 || die "kafka: pid $pid survived SIGKILL"
    fi
    rm -f "$KAFKA_PID_FILE"
    log "kafka: stopped"
}

# One status line on stdout; fails unless the broker runs and accepts connections.
kafka_status() {
    local pid
    if pid="$(kafka_pid)"; then
        if port_open "$KAFKA_PORT"; then
            printf 'infra: kafka     running  pid %-7s %s:%s (controller %s:%s), Kafka %s\n' \
                "$pid" "$BIND_HOST" "$KAFKA_PORT" "$BIND_HOST" "$KAFKA_CONTROLLER_PORT" "$(kafka_version)"
            return 0
        fi
        printf 'infra: kafka     running  pid %-7s but not accepting connections on %s:%s\n' \
            "$pid" "$BIND_HOST" "$KAFKA_PORT"
        return 1
    fi
    printf 'infra: kafka     stopped  (port %s:%s)\n' "$BIND_HOST" "$KAFKA_PORT"
    return 1
}
