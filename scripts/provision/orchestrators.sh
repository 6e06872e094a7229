#!/usr/bin/env bash
# Provisions the orchestrator peers of bench/peers/orchestrators.ts — Dagster and Prefect 3 from
# PyPI — each in its own venv in the per-machine tool cache (never by npm ci). Not a server:
# nothing to stop. A peer that cannot be installed (no network, no wheel) is left out, with its
# reason in the venv's .failed file; the bench prints it and skips that peer.
#
# Usage:
#   scripts/provision/orchestrators.sh start   create the venvs when missing (cached: later runs
#                                              reuse them), print `export DAGCTL_DAGSTER_PYTHON=…`
#                                              and `export DAGCTL_PREFECT_PYTHON=…` for those that work
#   scripts/provision/orchestrators.sh stop    nothing to stop (accepted, like the servers' scripts)
#
# Preconditions: python3 with the venv module; pip reaching PyPI the first time. Only stdout
# carries the export lines; progress goes to stderr. `rm -rf` a venv to force a reinstall.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DAGSTER_VERSION="${DAGCTL_DAGSTER_VERSION:-1.13.29}"
PREFECT_VERSION="${DAGCTL_PREFECT_VERSION:-3.9.1}"

log() { echo "orchestrators.sh: $*" >&2; }
# shellcheck source=scripts/provision/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# peer NAME PIP_SPEC IMPORT VAR: one peer's venv; prints its export line when it works (a peer that
# failed to install is remembered and skipped: lib.sh python_venv --remember-failure).
peer() {
  local py
  if py="$(python_venv --remember-failure "$1" "$3" "$2")"; then echo "export $4=$py"; fi
}

start() {
  peer "dagster-$DAGSTER_VERSION" "dagster==$DAGSTER_VERSION" dagster DAGCTL_DAGSTER_PYTHON
  peer "prefect-$PREFECT_VERSION" "prefect==$PREFECT_VERSION" prefect DAGCTL_PREFECT_PYTHON
}

case "${1:-}" in
  start | env) start ;;
  stop) ;;
  *) echo "usage: $0 start|env|stop" >&2; exit 2 ;;
esac
