#!/usr/bin/env bash
# Start, stop and inspect the four repairline services on this machine.
#   deploy/local/services.sh start|stop|status
# Logs: .local/logs/<service>.log; pid files: .local/run/<service>.pid.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL="${REPAIRLINE_LOCAL_DIR:-$ROOT/.local}"
RUN="$LOCAL/run"
LOGS="$LOCAL/logs"
SERVICES=(intake dispatch billing feedback console)
declare -A PORT=([intake]=8101 [dispatch]=8102 [billing]=8103 [feedback]=8104 [console]=8100)

say() { echo "services: $*"; }

port_of() {
  local var="REPAIRLINE_${1^^}_PORT"
  echo "${!var:-${PORT[$1]}}"
}

# A service runs when its pid is alive (not a zombie waiting to be reaped) and is
# still the service's own command: a pid reused by another process does not count.
alive() {
  local pid stat
  [[ -f "$RUN/$1.pid" ]] || return 1
  pid="$(cat "$RUN/$1.pid")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat%% *}" != Z ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "repairline-$1 serve"
}

wait_ready() {
  local svc=$1 url="http://127.0.0.1:$(port_of "$1")/readyz"
  for _ in $(seq 1 120); do
    if curl -fsS "$url" >/dev/null 2>&1; then return 0; fi
    if ! alive "$svc"; then
      say "$svc exited during start; last lines of $LOGS/$svc.log:"
      tail -n 30 "$LOGS/$svc.log" >&2
      return 1
    fi
    sleep 0.5
  done
  say "$svc not ready after 60 s; see $LOGS/$svc.log"
  return 1
}

start() {
  mkdir -p "$RUN" "$LOGS"
  eval "$("$ROOT/deploy/local/infra.sh" env)"
  export REPAIRLINE_CLOCK="${REPAIRLINE_CLOCK:-simulated}"
  export REPAIRLINE_LOG_FORMAT="${REPAIRLINE_LOG_FORMAT:-json}"
  # the local token issuer: its key stays under .local/auth, the services read its JWKS
  eval "$("$ROOT/.venv/bin/python" -m repairline_platform.issuer "$LOCAL/auth")"
  for svc in "${SERVICES[@]}"; do
    if alive "$svc"; then say "$svc already running (pid $(cat "$RUN/$svc.pid"))"; continue; fi
    REPAIRLINE_HTTP_PORT="$(port_of "$svc")" \
      nohup "$ROOT/.venv/bin/repairline-$svc" serve >>"$LOGS/$svc.log" 2>&1 &
    echo $! >"$RUN/$svc.pid"
  done
  for svc in "${SERVICES[@]}"; do wait_ready "$svc"; done
  local dispatch="http://127.0.0.1:$(port_of dispatch)"
  local token
  token="$("$ROOT/.venv/bin/repairline" token --role dispatcher --subject demo-roster \
    --ttl 5m --key-dir "$LOCAL/auth")"
  "$ROOT/.venv/bin/python" - "$ROOT/deploy/local/demo-roster.json" "$dispatch" "$token" <<'PY'
import json, sys, urllib.request
roster, base, token = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
for engineer in roster:
    body = json.dumps({k: v for k, v in engineer.items() if k != "engineer_id"}).encode()
    req = urllib.request.Request(f"{base}/engineers/{engineer['engineer_id']}", data=body,
                                 headers=headers, method="PUT")
    urllib.request.urlopen(req, timeout=10).read()
print(f"services: demo roster loaded ({len(roster)} engineers)")
PY
  echo
  for svc in "${SERVICES[@]}"; do
    [[ "$svc" == console ]] && continue  # pages, not an API: its own line below
    printf '  %-9s http://127.0.0.1:%s   docs: http://127.0.0.1:%s/docs\n' \
      "$svc" "$(port_of "$svc")" "$(port_of "$svc")"
  done
  echo "  the console: http://127.0.0.1:$(port_of console)/ (sign in with a role and a region)"
  echo
  echo "  every route but /healthz, /readyz, /docs and /metrics needs a bearer token:"
  echo "    export TOKEN=\$(.venv/bin/repairline token --role agent --role dispatcher)"
  echo "    curl -H \"Authorization: Bearer \$TOKEN\" http://127.0.0.1:$(port_of dispatch)/engineers"
  echo "  roles: agent dispatcher engineer dealer billing quality analyst admin customer"
  echo
  say "clock: $REPAIRLINE_CLOCK; logs in $LOGS; stop with 'make stop'"
}

stop() {
  for svc in "${SERVICES[@]}"; do
    if alive "$svc"; then
      local pid; pid=$(cat "$RUN/$svc.pid")
      kill -TERM "$pid"
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      if kill -0 "$pid" 2>/dev/null; then say "$svc did not stop in 20 s; killing"; kill -KILL "$pid"; fi
      say "$svc stopped"
    fi
    rm -f "$RUN/$svc.pid"
  done
}

status() {
  local rc=0
  for svc in "${SERVICES[@]}"; do
    if alive "$svc"; then say "$svc running (pid $(cat "$RUN/$svc.pid"), port $(port_of "$svc"))"
    else say "$svc stopped"; rc=1; fi
  done
  return $rc
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
