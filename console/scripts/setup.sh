#!/usr/bin/env bash
# The console's browser side, installed and built on this machine (idempotent):
#   console/scripts/setup.sh assets   npm ci from package-lock.json when the lock changed,
#                                     then htmx, its SSE extension and Chart.js copied
#                                     into the package's static/vendor folder
#   console/scripts/setup.sh browser  Debian's chromium (and a Chinese font) for the browser
#                                     tests, when missing
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$HERE/src/repairline_console/static/vendor"

assets() {
  cd "$HERE"
  if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
    touch node_modules/.package-lock.json
  fi
  mkdir -p "$VENDOR"
  local files=(
    node_modules/htmx.org/dist/htmx.min.js
    node_modules/htmx-ext-sse/sse.js
    node_modules/chart.js/dist/chart.umd.js
  )
  for file in "${files[@]}"; do
    cmp -s "$file" "$VENDOR/$(basename "$file")" || cp "$file" "$VENDOR/"
  done
}

# chromium, and a font with Chinese glyphs for the pages' Chinese labels
browser() {
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  [[ -n "$(fc-list :lang=zh 2>/dev/null)" ]] || missing+=(fonts-wqy-microhei)
  [[ ${#missing[@]} -eq 0 ]] && return 0
  local sudo=""
  [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

case "${1:-}" in
  assets) assets ;;
  browser) browser ;;
  *) echo "usage: $0 assets|browser" >&2; exit 2 ;;
esac
