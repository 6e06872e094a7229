#!/usr/bin/env bash
# Runs a command with the S3 test server up: starts it (scripts/provision/s3.sh start), exports its
# AWS_* / DAGCTL_S3_TEST variables into the command's environment, and always stops it afterwards,
# keeping the command's exit status. For scripts/test.sh and CI:
#   bash scripts/provision/with-s3.sh npx mocha 'dist/test/**/*.test.js'
# Preconditions: as for s3.sh (Go toolchain on first run, node_modules installed).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
(($# > 0)) || { echo "usage: $0 command [args...]" >&2; exit 2; }
env_lines="$("$HERE/s3.sh" start)"
trap '"$HERE/s3.sh" stop' EXIT
eval "$env_lines"
set +e
"$@"
status=$?
set -e
exit "$status"
