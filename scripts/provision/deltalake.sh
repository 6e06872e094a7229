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
  local venv
  venv="$(tools_dir)/deltalake-$DELTALAKE_VERSION-pyarrow-$PYARROW_VERSION"
  # .complete is written last: a venv an interrupted install left behind is rebuilt.
  if [[ ! -f "$venv/.complete" ]]; then
    log "creating $venv (deltalake==$DELTALAKE_VERSION pyarrow==$PYARROW_VERSION from PyPI)"
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "deltalake==$DELTALAKE_VERSION" "pyarrow==$PYARROW_VERSION" >&2
    "$venv/bin/python" -c 'import deltalake, pyarrow' >&2
    touch "$venv/.complete"
  fi
  echo "export DAGCTL_DELTALAKE_PYTHON=$venv/bin/python"
}

case "${1:-}" in
  start | env) start ;;
  stop) ;;
  *) echo "usage: $0 start|env|stop" >&2; exit 2 ;;
esac
