#!/usr/bin/env bash
# Provisions a throwaway redis-server on loopback for dagctl's distributed tests and benches.
#
# Usage:
#   scripts/provision/redis.sh start   install redis-server (apt-get) when missing, start it on a free
#                                      127.0.0.1 port with AOF on (--appendonly yes --save ''), wait
#                                      until it answers PING, print `export DAGCTL_TEST_REDIS_URL=…`
#   scripts/provision/redis.sh env     print the export line of the running server again
#   scripts/provision/redis.sh stop    stop the server started by `start` and delete its data dir
# Typical: eval "$(scripts/provision/redis.sh start)"; npx mocha 'dist/test/distributed/**/*.test.js';
#          scripts/provision/redis.sh stop
#
# Preconditions: Debian/Ubuntu with apt-get (root) when redis-server is not installed yet; node (for
# picking a free port). Only stdout carries the export line; progress goes to stderr.
# maxmemory-policy is noeviction (the default, set explicitly): BullMQ and dagctl's run state must
# never be evicted.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${DAGCTL_REDIS_STATE_DIR:-$REPO/.tmp/redis-server}"
PIDFILE="$STATE/redis.pid"
ENVFILE="$STATE/env.sh"

log() { echo "redis.sh: $*" >&2; }
# shellcheck source=scripts/provision/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install() {
  command -v redis-server >/dev/null && return
  command -v apt-get >/dev/null || { log "redis-server missing and no apt-get to install it"; exit 1; }
  log "installing redis-server from Debian packages"
  local sudo=""
  [[ "$(id -u)" == 0 ]] || sudo="sudo"
  $sudo apt-get update >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends redis-server >&2
}



start() {
  if running_env; then log "already running (pid $(cat "$PIDFILE"))"; return; fi
  install
  mkdir -p "$STATE"
  local data port tries=0
  data="$(mktemp -d "$STATE/data.XXXXXX")"
  while :; do
    port="$(free_port)"
    # setsid: the server outlives this script; `stop` signals only its pid.
    setsid redis-server --bind 127.0.0.1 --port "$port" --dir "$data" \
      --appendonly yes --appendfsync everysec --save '' \
      --maxmemory-policy noeviction --protected-mode yes \
      --daemonize no --logfile "$data/redis.log" </dev/null >/dev/null 2>&1 &
    local pid=$!
    echo "$pid" >"$PIDFILE"
    echo "$data" >"$STATE/datadir"
    local i
    for i in $(seq 1 100); do
      if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then break; fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null && redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then break; fi
    # Lost the port race or failed to start: retry a couple of times, then give up loudly.
    kill "$pid" 2>/dev/null || true
    tries=$((tries + 1))
    if ((tries >= 3)); then
      log "redis-server did not start; log follows"
      cat "$data/redis.log" >&2 || true
      exit 1
    fi
  done
  echo "export DAGCTL_TEST_REDIS_URL=redis://127.0.0.1:$port" >"$ENVFILE"
  log "redis-server $(redis-server --version | awk '{print $3}') on 127.0.0.1:$port (pid $(cat "$PIDFILE"), data $data)"
  cat "$ENVFILE"
}

stop() { stop_server 50; }

case "${1:-}" in
  start) start ;;
  env) running_env || { log "not running"; exit 1; } ;;
  stop) stop ;;
  *) echo "usage: $0 start|env|stop" >&2; exit 2 ;;
esac
