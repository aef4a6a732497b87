# shellcheck shell=bash
# Project-local PostgreSQL cluster built from Debian's server binaries
# (/usr/lib/postgresql/<major>/bin), independent of any system cluster.
# Sourced by infra.sh after common.sh.

# The cluster lives in $LOCAL_DIR/pg, unless the checkout is somewhere its OS user
# cannot enter (a clone in root's own home, mode 700): then in a folder of its own
# under /var/lib/repairline, recorded in $PG_PLACE_FILE (see pg_place).
PG_PLACE_FILE="$LOCAL_DIR/pg.place"
pg_set_dir() {
    PG_DIR="$1"
    PG_DATA="$PG_DIR/data"
    PG_RUN="$PG_DIR/run"
    PG_LOGDIR="$PG_DIR/log"
    PG_LOG="$PG_LOGDIR/postgresql.log"
}
if [[ -f "$PG_PLACE_FILE" ]]; then pg_set_dir "$(cat "$PG_PLACE_FILE")"; else pg_set_dir "$LOCAL_DIR/pg"; fi
PG_SUPERUSER=repairline
PG_DATABASES=(repairline_intake repairline_dispatch repairline_billing repairline_feedback)
PG_CONF_NAME=repairline.conf
PG_START_TIMEOUT="${REPAIRLINE_PG_START_TIMEOUT:-60}"

PG_BIN=""
PG_OS_USER=""

# ------------------------------------------------------------ binaries ---
pg_newest_bindir() {
    local dir
    dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
    [[ -n "$dir" && -x "$dir/pg_ctl" ]] && printf '%s\n' "$dir"
}

# Pick the server binaries: the major version that created the cluster when it
# exists (its files are not readable by another major), else the newest
# installed; install Debian's postgresql package when there is none.
pg_find_bin() {
    [[ -n "$PG_BIN" ]] && return 0
    if [[ -f "$PG_DATA/PG_VERSION" ]]; then
        local major
        major="$(cat "$PG_DATA/PG_VERSION")"
        if [[ ! -x "/usr/lib/postgresql/$major/bin/pg_ctl" ]]; then
            [[ -n "$(pg_newest_bindir)" ]] || apt_install postgresql
        fi
        [[ -x "/usr/lib/postgresql/$major/bin/pg_ctl" ]] ||
            die "postgres: $PG_DATA was created by PostgreSQL $major, which is not installed (apt-get install postgresql-$major, or remove $PG_DIR to start over)"
        PG_BIN="/usr/lib/postgresql/$major/bin"
        return 0
    fi
    PG_BIN="$(pg_newest_bindir)" || true
    if [[ -z "$PG_BIN" ]]; then
        apt_install postgresql
        PG_BIN="$(pg_newest_bindir)" || die "postgres: no server binaries under /usr/lib/postgresql after installing postgresql"
    fi
}

# ------------------------------------------------------------- OS user ---
# initdb and postgres refuse to run as root: as root, run them as the
# 'postgres' system user (created by the Debian package; created here if
# missing); otherwise as the calling user.
pg_find_os_user() {
    [[ -n "$PG_OS_USER" ]] && return 0
    if ! is_root; then
        PG_OS_USER="$(id -un)"
        return 0
    fi
    PG_OS_USER=postgres
    if ! id -u postgres >/dev/null 2>&1; then
        log "postgres: creating system user 'postgres'"
        useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
            --shell /usr/sbin/nologin postgres || die "postgres: could not create the 'postgres' user"
    fi
}

# Run a command as the cluster's OS user, from a directory it can enter.
as_pg() {
    if is_root; then
        (cd "$PG_DIR" && runuser -u "$PG_OS_USER" -- "$@")
    else
        (cd "$PG_DIR" && "$@")
    fi
}

pg_place() {
    is_root || return 0
    [[ -f "$PG_PLACE_FILE" || -f "$PG_DATA/PG_VERSION" ]] && return 0
    mkdir -p "$LOCAL_DIR"
    runuser -u "$PG_OS_USER" -- test -x "$LOCAL_DIR" 2>/dev/null && return 0
    local place
    place="/var/lib/repairline/$(printf '%s' "$LOCAL_DIR" | sha256sum | cut -c1-16)/pg"
    mkdir -p "$place"
    printf '%s\n' "$place" >"$PG_PLACE_FILE"
    pg_set_dir "$place"
    log "postgres: user '$PG_OS_USER' cannot enter $LOCAL_DIR; the cluster lives in $PG_DIR"
}

pg_prepare_dirs() {
    mkdir -p "$PG_DATA" "$PG_RUN" "$PG_LOGDIR"
    if is_root; then
        # Only walk the tree when ownership is wrong (first run, or the tree
        # was copied/restored as root).
        if [[ "$(stat -c %U "$PG_DIR")" != "$PG_OS_USER" ||
            "$(stat -c %U "$PG_DATA")" != "$PG_OS_USER" ||
            -n "$(find "$PG_DIR" ! -user "$PG_OS_USER" -print -quit)" ]]; then
            chown -R "$PG_OS_USER:" "$PG_DIR"
        fi
        as_pg test -w "$PG_DATA" ||
            die "postgres: user '$PG_OS_USER' cannot reach $PG_DATA; every parent directory must be searchable by it (or set REPAIRLINE_LOCAL_DIR elsewhere)"
    fi
    chmod 700 "$PG_DATA"
}

# ------------------------------------------------------------- cluster ---
pg_initdb() {
    [[ -f "$PG_DATA/PG_VERSION" ]] && return 0
    [[ -z "$(ls -A "$PG_DATA")" ]] ||
        die "postgres: $PG_DATA is not empty but holds no cluster; remove it to start over"
    log "postgres: creating cluster in $PG_DATA ($(basename "$(dirname "$PG_BIN")"))"
    # --auth=trust: acceptable only because this is a local dev/test cluster
    # that listens on 127.0.0.1 and a private socket directory, never on the
    # network.
    if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_SUPERUSER" \
        --encoding=UTF8 --no-locale --auth=trust \
        >"$PG_LOGDIR/initdb.log" 2>&1; then
        show_tail "$PG_LOGDIR/initdb.log"
        die "postgres: initdb failed"
    fi
    # Our settings live in their own file, rewritten on every up.
    printf "\ninclude '%s'\n" "$PG_CONF_NAME" | as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
}

pg_render_conf() {
    cat <<EOF
# Settings of the repairline local cluster; rewritten by deploy/local/infra.sh.
listen_addresses = '$BIND_HOST'
port = $PG_PORT
unix_socket_directories = '$PG_RUN'
max_connections = 500
shared_buffers = 256MB

# Durable: what a service acknowledged survives a crash of PostgreSQL or of the
# machine (make run is what a small network runs on).
fsync = on
synchronous_commit = on
full_page_writes = on

log_timezone = 'UTC'
timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
}

# Writes the settings file; returns 1 when it changed.
pg_write_conf() {
    local rendered file="$PG_DATA/$PG_CONF_NAME"
    rendered="$(pg_render_conf)"
    [[ "$rendered" == "$(cat "$file" 2>/dev/null)" ]] && return 0
    printf '%s\n' "$rendered" | as_pg tee "$file" >/dev/null
    return 1
}

# Prints the postmaster pid and succeeds when our cluster is running.
pg_pid() {
    local pid
    [[ -f "$PG_DATA/postmaster.pid" ]] || return 1
    pid="$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null)" || return 1
    pid_matches "$pid" "bin/postgres -D " || return 1
    pid_has_path_arg "$pid" "$PG_DATA" || return 1
    printf '%s\n' "$pid"
}

# After a machine restart postmaster.pid and the socket lock may name a pid
# that is gone or now belongs to another process; postgres would refuse to
# start in the latter case.
pg_clear_stale() {
    if [[ -f "$PG_DATA/postmaster.pid" ]]; then
        log "postgres: removing stale postmaster.pid (pid $(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true) is not our server)"
        rm -f "$PG_DATA/postmaster.pid"
    fi
    rm -f "$PG_RUN"/.s.PGSQL.*
}

pg_psql() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$BIND_HOST" -p "$PG_PORT" -U "$PG_SUPERUSER" "$@"
}

# Create the service databases that do not exist yet (one round trip).
pg_ensure_databases() {
    local list
    list="$(printf "'%s'," "${PG_DATABASES[@]}")"
    list="${list%,}"
    local created
    if ! created="$(pg_psql -d postgres -tA 2>&1 <<SQL
SELECT format('CREATE DATABASE %I OWNER %I ENCODING ''UTF8''', name, '$PG_SUPERUSER')
FROM unnest(ARRAY[$list]) AS name
WHERE NOT EXISTS (SELECT 1 FROM pg_database d WHERE d.datname = name)
\\gexec
SELECT string_agg(datname, ' ' ORDER BY datname) FROM pg_database
WHERE datname = ANY(ARRAY[$list]);
SQL
    )"; then
        printf '%s\n' "$created" >&2
        die "postgres: could not create the databases"
    fi
    log "postgres: databases ready: $created"
}

pg_up() {
    check_settings
    pg_find_os_user
    pg_place
    mkdir -p "$PG_DIR"
    pg_find_bin
    pg_prepare_dirs
    pg_initdb
    local conf_changed=0 pid
    pg_write_conf || conf_changed=1

    if pid="$(pg_pid)"; then
        ((conf_changed == 0)) ||
            warn "postgres: configuration changed since it started; run 'infra.sh down && infra.sh up' to apply"
        log "postgres: already running (pid $pid) on $BIND_HOST:$PG_PORT"
    else
        pg_clear_stale
        ! port_open "$PG_PORT" ||
            die "postgres: port $BIND_HOST:$PG_PORT is already in use by another process (set REPAIRLINE_PG_PORT)"
        log "postgres: starting on $BIND_HOST:$PG_PORT"
        if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$PG_START_TIMEOUT" start >/dev/null 9>&-; then
            show_tail "$PG_LOG"
            die "postgres: failed to start (log: $PG_LOG)"
        fi
        log "postgres: ready on $BIND_HOST:$PG_PORT (pid $(pg_pid || echo '?'))"
    fi
    pg_ensure_databases
}

pg_down() {
    local pid mode="${1:-fast}"
    if ! pid="$(pg_pid)"; then
        [[ -f "$PG_DATA/postmaster.pid" ]] && pg_clear_stale
        log "postgres: not running"
        return 0
    fi
    pg_find_os_user
    pg_find_bin
    log "postgres: stopping (pid $pid, $mode)"
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m "$mode" -w -t 60 stop >/dev/null; then
        show_tail "$PG_LOG"
        die "postgres: pg_ctl stop failed"
    fi
    log "postgres: stopped"
}

# One status line on stdout; fails unless the cluster runs and accepts connections.
pg_status() {
    local pid version=""
    [[ -f "$PG_DATA/PG_VERSION" ]] && version=", PostgreSQL $(cat "$PG_DATA/PG_VERSION")"
    if pid="$(pg_pid)"; then
        if port_open "$PG_PORT"; then
            printf 'infra: postgres  running  pid %-7s %s:%s (socket dir %s)%s\n' \
                "$pid" "$BIND_HOST" "$PG_PORT" "$PG_RUN" "$version"
            return 0
        fi
        printf 'infra: postgres  running  pid %-7s but not accepting connections on %s:%s\n' \
            "$pid" "$BIND_HOST" "$PG_PORT"
        return 1
    fi
    printf 'infra: postgres  stopped  (port %s:%s)\n' "$BIND_HOST" "$PG_PORT"
    return 1
}
