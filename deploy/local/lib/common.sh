# shellcheck shell=bash
# Shared functions of deploy/local/infra.sh: paths, settings, logging, process
# and port checks, package installation. Sourced, never executed.

# ---------------------------------------------------------------- paths ---
# INFRA_DIR is set by infra.sh (the directory holding it, symlinks resolved).
REPO_ROOT="$(cd "$INFRA_DIR/../.." && pwd -P)"

# Everything generated (jars, data, logs, pid files) lives in one git-ignored
# folder. A relative REPAIRLINE_LOCAL_DIR is taken relative to the repo root,
# so the script behaves the same from any working directory.
LOCAL_DIR="${REPAIRLINE_LOCAL_DIR:-.local}"
[[ "$LOCAL_DIR" == /* ]] || LOCAL_DIR="$REPO_ROOT/$LOCAL_DIR"

# ------------------------------------------------------------- settings ---
KAFKA_PORT="${REPAIRLINE_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${REPAIRLINE_KAFKA_CONTROLLER_PORT:-19093}"
PG_PORT="${REPAIRLINE_PG_PORT:-15432}"

# Everything listens on loopback only.
BIND_HOST=127.0.0.1

# --------------------------------------------------------------- output ---
# Messages go to stderr so that `eval "$(infra.sh env)"` only sees exports.
log() { printf 'infra: %s\n' "$*" >&2; }
warn() { printf 'infra: warning: %s\n' "$*" >&2; }
die() {
    printf 'infra: error: %s\n' "$*" >&2
    exit 1
}

# Print the last lines of a log file, indented, to stderr (for failures).
# With a byte offset, only what was written after it counts (this run).
show_tail() {
    local file="$1" lines="${2:-40}" offset="${3:-0}"
    [[ -s "$file" ]] || return 0
    printf 'infra: ---- last %s lines of %s ----\n' "$lines" "$file" >&2
    tail -c "+$((offset + 1))" "$file" | tail -n "$lines" | sed 's/^/    /' >&2
    printf 'infra: ---- end of %s ----\n' "$file" >&2
}

# ----------------------------------------------------------- validation ---
check_port_var() {
    local name="$1" value="$2"
    if ! [[ "$value" =~ ^[0-9]+$ ]] || ((value < 1 || value > 65535)); then
        die "$name must be a TCP port number (1-65535), got '$value'"
    fi
}

check_settings() {
    check_port_var REPAIRLINE_KAFKA_PORT "$KAFKA_PORT"
    check_port_var REPAIRLINE_KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
    check_port_var REPAIRLINE_PG_PORT "$PG_PORT"
    local -A seen=()
    local p
    for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$PG_PORT"; do
        [[ -z "${seen[$p]:-}" ]] || die "port $p is configured twice (REPAIRLINE_*_PORT)"
        seen[$p]=1
    done
}

# ------------------------------------------------------ processes/ports ---
# True when something accepts TCP connections on BIND_HOST:port. A refused
# connection on loopback fails at once, so no timeout is needed.
port_open() {
    (exec 3<>"/dev/tcp/$BIND_HOST/$1") 2>/dev/null
}

# True when pid is a live process whose command line contains pattern.
# Guards against pid files that outlived their process (machine restart) and
# whose pid now belongs to something else.
pid_matches() {
    local pid="$1" pattern="$2" cmdline
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmdline" == *"$pattern"* ]]
}

# True when one of pid's command-line arguments is the file or directory `path`, compared
# resolved, so a checkout reached through a symbolic link still knows its own process.
pid_has_path_arg() {
    local pid="$1" want arg
    want="$(readlink -f "$2")" || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    while IFS= read -r -d '' arg; do
        [[ "$arg" == /* && "$(readlink -f "$arg" 2>/dev/null)" == "$want" ]] && return 0
    done <"/proc/$pid/cmdline"
    return 1
}

# True while pid runs; a zombie (exited, not yet reaped) counts as gone.
pid_alive() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ "${stat%% *}" != Z ]]
}

# Wait until pid has exited; returns 1 if it is still alive after timeout seconds.
wait_exit() {
    local pid="$1" timeout="$2" waited=0
    while pid_alive "$pid"; do
        ((waited >= timeout * 10)) && return 1
        sleep 0.1
        waited=$((waited + 1))
    done
}

# -------------------------------------------------------------- install ---
is_root() { [[ "$(id -u)" -eq 0 ]]; }

APT_UPDATED=0
# apt_install pkg...: install Debian packages (root only).
apt_install() {
    is_root || die "missing packages: $*; install them (apt-get install $*) or run as root"
    if ((APT_UPDATED == 0)); then
        log "apt-get update"
        apt-get update -qq >&2 || die "apt-get update failed"
        APT_UPDATED=1
    fi
    log "installing $* (apt)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2 ||
        die "apt-get install $* failed"
}

# Java 17+ for Kafka: JAVA_HOME first, then PATH, else the Debian default JRE.
JAVA_BIN=""
find_java() {
    [[ -n "$JAVA_BIN" ]] && return 0
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
        JAVA_BIN="$JAVA_HOME/bin/java"
    elif command -v java >/dev/null 2>&1; then
        JAVA_BIN="$(command -v java)"
    else
        apt_install default-jre-headless
        JAVA_BIN="$(command -v java)" || die "java not found after installation"
    fi
    local version major
    version="$("$JAVA_BIN" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n 1)"
    major="${version%%.*}"
    if ! [[ "$major" =~ ^[0-9]+$ ]] || ((major < 17)); then
        die "Kafka needs Java 17 or newer; $JAVA_BIN is '${version:-unknown}'"
    fi
}

find_mvn() {
    command -v mvn >/dev/null 2>&1 || apt_install maven
}

# ---------------------------------------------------------------- lock ---
# Serialises concurrent up/down calls on the same local dir. The lock is held
# on file descriptor 9: every daemon is started with 9>&- so that it does not
# inherit (and keep holding) the lock after infra.sh exits.
take_lock() {
    mkdir -p "$LOCAL_DIR"
    exec 9>"$LOCAL_DIR/infra.lock"
    flock -w 300 9 || die "another infra.sh is still running (lock $LOCAL_DIR/infra.lock)"
}
