#!/usr/bin/env bash
# Provisions delta-rs (the Python `deltalake` package from PyPI, with pyarrow) in a venv in the
# per-machine tool cache, for the tests that read dagctl's views as Delta Lake tables with a
# foreign engine. Not a server: nothing to stop.
#
# Usage:
#   scripts/provision/deltalake.sh start   create the venv when missing (cached: later runs reuse
#                                          it), print `export DAGCTL_DELTALAKE_PYTHON=…`
#   scripts/provision/deltalake.sh env     the same (alias)
#   scripts/provision/deltalake.sh stop    nothing to stop (accepted, like the servers' scripts)
# Typical: eval "$(scripts/provision/deltalake.sh start)"; npx mocha 'dist/test/integration/delta*.test.js'
#
# Preconditions: python3 with the venv module; pip reaching PyPI the first time. Only stdout
# carries the export line; progress goes to stderr. `rm -rf` the venv to force a reinstall.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DELTALAKE_VERSION="${DAGCTL_DELTALAKE_VERSION:-1.6.6}"
PYARROW_VERSION="${DAGCTL_PYARROW_VERSION:-21.0.0}"

log() { echo "deltalake.sh: $*" >&2; }
# shellcheck source=scripts/provision/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start() {
  local py
  py="$(python_venv "deltalake-$DELTALAKE_VERSION-pyarrow-$PYARROW_VERSION" deltalake,pyarrow "deltalake==$DELTALAKE_VERSION" "pyarrow==$PYARROW_VERSION")"
  echo "export DAGCTL_DELTALAKE_PYTHON=$py"
}

case "${1:-}" in
  start | env) start ;;
  stop) ;;
  *) echo "usage: $0 start|env|stop" >&2; exit 2 ;;
esac
