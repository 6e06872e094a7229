#!/usr/bin/env bash
# Provisions PySpark (the `pyspark` package from PyPI, run on the machine's Java) in a venv in the
# per-machine tool cache, for the peer benchmark (bench/peers.ts) that runs the SuperWebAnalytics
# pipeline on Spark local[N]. Not a server: nothing to stop. Never run by `npm ci`.
#
# Usage:
#   scripts/provision/pyspark.sh start   create the venv when missing (cached: later runs reuse it),
#                                        print `export DAGCTL_PYSPARK_PYTHON=…`
#   scripts/provision/pyspark.sh env     the same (alias)
#   scripts/provision/pyspark.sh stop    nothing to stop (accepted, like the servers' scripts)
#
# Preconditions: python3 with the venv module, `java` (17+) on PATH, pip reaching PyPI the first
# time. Only stdout carries the export line; progress goes to stderr. `rm -rf` the venv to force a
# reinstall.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYSPARK_VERSION="${DAGCTL_PYSPARK_VERSION:-3.5.7}"

log() { echo "pyspark.sh: $*" >&2; }
# shellcheck source=scripts/provision/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start() {
  command -v java >/dev/null || { log "no java on PATH: PySpark needs a JDK/JRE 17+"; exit 1; }
  local py
  py="$(python_venv "pyspark-$PYSPARK_VERSION" pyspark "pyspark==$PYSPARK_VERSION")"
  echo "export DAGCTL_PYSPARK_PYTHON=$py"
}

case "${1:-}" in
  start | env) start ;;
  stop) ;;
  *) echo "usage: $0 start|env|stop" >&2; exit 2 ;;
esac
