#!/usr/bin/env bash
# Provisions Debian's Chromium for the web UI's browser tests (test/ui/browser.test.ts, driven by
# playwright-core, which never downloads a browser) and the UI screenshots and bench.
#
# Usage:
#   scripts/provision/chromium.sh        install chromium (apt-get) when missing; print its path
#   scripts/provision/chromium.sh env    the same, printed as `export DAGCTL_TEST_CHROMIUM=…`
# Typical: eval "$(scripts/provision/chromium.sh env)"; npx mocha 'dist/test/ui/**/*.test.js'
#
# Preconditions: Debian/Ubuntu with apt-get (root or sudo) when chromium is not installed yet.
# Only stdout carries the path; progress goes to stderr. DAGCTL_TEST_CHROMIUM, when set to an
# executable, is used as it is.
set -euo pipefail

log() { echo "chromium.sh: $*" >&2; }

find_chromium() {
  if [[ -n "${DAGCTL_TEST_CHROMIUM:-}" && -x "${DAGCTL_TEST_CHROMIUM}" ]]; then echo "$DAGCTL_TEST_CHROMIUM"; return; fi
  local c
  for c in /usr/bin/chromium /usr/bin/chromium-browser; do
    if [[ -x "$c" ]]; then echo "$c"; return; fi
  done
  return 1
}

install() {
  command -v apt-get >/dev/null || { log "chromium missing and no apt-get to install it"; exit 1; }
  log "installing chromium from Debian packages"
  local sudo=""
  [[ "$(id -u)" == 0 ]] || sudo="sudo"
  $sudo apt-get update >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium >&2
}

path="$(find_chromium || true)"
if [[ -z "$path" ]]; then
  install
  path="$(find_chromium)" || { log "chromium still missing after apt-get install"; exit 1; }
fi
log "$("$path" --version 2>/dev/null | head -1 || echo "$path")"
case "${1:-path}" in
  path) echo "$path" ;;
  env) echo "export DAGCTL_TEST_CHROMIUM=$path" ;;
  *) log "usage: $0 [path|env]"; exit 2 ;;
esac
