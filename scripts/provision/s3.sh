#!/usr/bin/env bash
# Provisions a real S3-compatible server on loopback for dagctl's S3 tests and benches.
#
# Server: Versity S3 Gateway (versitygw, Apache-2.0, github.com/versity/versitygw) with its posix
# backend. Chosen because it builds from the Go module proxy alone in 1.5-4 min on 2 shared cores, and since
# v1.8.0 evaluates If-None-Match: * and If-Match on PutObject/CompleteMultipartUpload atomically per
# key (publish lock), which dagctl's create-only writes and _CURRENT compare-and-swap rely on.
# test/s3/server-conditional.test.ts re-proves that against the running server.
#
# Usage:
#   scripts/provision/s3.sh build    build (or reuse) .tools/versitygw-<version>/bin/versitygw
#   scripts/provision/s3.sh start    build if needed, start on a free 127.0.0.1 port with a temp data
#                                    dir, wait until ready, create buckets, print `export …` lines
#   scripts/provision/s3.sh env      print the export lines of the running server again
#   scripts/provision/s3.sh stop     stop the server started by `start` and delete its data dir
# Typical: eval "$(scripts/provision/s3.sh start)"; npx mocha 'dist/test/s3/**/*.test.js'; scripts/provision/s3.sh stop
#
# Preconditions: Go toolchain (>= 1.21; newer toolchains are fetched through the module proxy when
# versitygw's go.mod asks for them), node + this repo's node_modules (bucket creation uses the SDK),
# a filesystem with user xattrs for the data dir (otherwise set DAGCTL_S3_SIDECAR=1).
# Only stdout carries the export lines; progress goes to stderr.
set -euo pipefail

VERSION="${DAGCTL_VERSITYGW_VERSION:-v1.8.0}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${DAGCTL_S3_STATE_DIR:-$REPO/.tmp/s3-server}"
PIDFILE="$STATE/versitygw.pid"
ENVFILE="$STATE/env.sh"
BUCKETS="${DAGCTL_S3_BUCKETS:-dagctl-test dagctl-bench}"

log() { echo "s3.sh: $*" >&2; }
# shellcheck source=scripts/provision/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TOOLS="$(tools_dir)"
BIN="$TOOLS/versitygw-$VERSION/bin/versitygw"

build() {
  if [[ -x "$BIN" ]]; then
    log "using cached $BIN"
    return
  fi
  command -v go >/dev/null || { log "go toolchain not found; cannot build versitygw"; exit 1; }
  log "building versitygw $VERSION (first run only; 1.5-4 min on 2 busy cores)"
  local tmp="$TOOLS/versitygw-$VERSION.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp/bin"
  local start=$SECONDS
  # Build into a temp dir and rename: an interrupted build never leaves a half-written cached binary.
  GOBIN="$tmp/bin" GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
    go install "github.com/versity/versitygw/cmd/versitygw@$VERSION" >&2
  mkdir -p "$(dirname "$BIN")"
  mv "$tmp/bin/versitygw" "$BIN"
  rm -rf "$tmp"
  log "built in $((SECONDS - start))s"
}



start() {
  if running_env; then log "already running (pid $(cat "$PIDFILE"))"; return; fi
  build
  mkdir -p "$STATE"
  local data port access secret endpoint
  data="$(mktemp -d "$STATE/data.XXXXXX")"
  mkdir -p "$data/root"
  access="dagctl$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
  secret="$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')"
  local posix_args=()
  if [[ "${DAGCTL_S3_SIDECAR:-0}" == 1 ]]; then
    mkdir -p "$data/sidecar"
    posix_args+=(--sidecar "$data/sidecar")
  fi
  local tries=0
  while :; do
    port="$(free_port)"
    endpoint="http://127.0.0.1:$port"
    # setsid: the server outlives this script, and `stop` signals only its own process group.
    ROOT_ACCESS_KEY_ID="$access" ROOT_SECRET_ACCESS_KEY="$secret" \
      setsid "$BIN" --port "127.0.0.1:$port" --region us-east-1 --quiet \
      posix "${posix_args[@]}" "$data/root" >"$data/server.log" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$PIDFILE"
    echo "$data" >"$STATE/datadir"
    # Ready when it answers HTTP at all (anonymous requests get 403, which is fine).
    local i
    for i in $(seq 1 100); do
      if curl -s -o /dev/null -m 1 "$endpoint/"; then break; fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null && curl -s -o /dev/null -m 1 "$endpoint/"; then break; fi
    # Lost the port race or failed to start: retry a couple of times, then give up loudly.
    kill "$pid" 2>/dev/null || true
    tries=$((tries + 1))
    if ((tries >= 3)); then
      log "versitygw did not start; log follows"
      cat "$data/server.log" >&2
      exit 1
    fi
  done
  AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID="$access" AWS_SECRET_ACCESS_KEY="$secret" AWS_REGION=us-east-1 \
    node "$REPO/scripts/provision/create-buckets.mjs" $BUCKETS >&2
  cat >"$ENVFILE" <<ENV
export AWS_ENDPOINT_URL=$endpoint
export AWS_ACCESS_KEY_ID=$access
export AWS_SECRET_ACCESS_KEY=$secret
export AWS_REGION=us-east-1
export DAGCTL_S3_FORCE_PATH_STYLE=1
export DAGCTL_S3_TEST_BUCKET=dagctl-test
export DAGCTL_S3_TEST=1
ENV
  log "versitygw $VERSION on $endpoint (pid $(cat "$PIDFILE"), data $data)"
  cat "$ENVFILE"
}

stop() { stop_server 50; }

case "${1:-}" in
  build) build ;;
  start) start ;;
  env) running_env || { log "not running"; exit 1; } ;;
  stop) stop ;;
  *) echo "usage: $0 build|start|env|stop" >&2; exit 2 ;;
esac
