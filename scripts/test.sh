#!/usr/bin/env bash
# The whole test suite, as CI runs it (`npm test`): type-check and build, lint, start the real
# servers the integration tests talk to on loopback (redis-server from Debian packages, an
# S3-compatible server built from the Go module proxy, Apache Kafka from Maven Central; delta-rs
# from PyPI in a cached venv, the foreign reader of views), run every
# mocha test, stop the servers.
# Extra arguments go to mocha (e.g. `npm test -- --grep reducer`).
set -euo pipefail
cd "$(dirname "$0")/.."

cleanup() {
  scripts/provision/redis.sh stop >/dev/null 2>&1 || true
  scripts/provision/s3.sh stop >/dev/null 2>&1 || true
  scripts/provision/kafka.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

echo "== build"
npx tsc -p tsconfig.json
echo "== lint"
npx eslint --max-warnings 0 .

echo "== servers"
# Each start's output is captured first: `eval "$(… start)"` would run on even when a start
# failed (eval of nothing succeeds), and the tests would then fail without saying why.
env_lines="$(scripts/provision/redis.sh start)"; eval "$env_lines"
env_lines="$(scripts/provision/s3.sh start)"; eval "$env_lines"
env_lines="$(scripts/provision/kafka.sh start)"; eval "$env_lines"
# delta-rs (Python deltalake from PyPI, a cached venv): the foreign reader of views. Not a server.
env_lines="$(scripts/provision/deltalake.sh start)"; eval "$env_lines"

echo "== tests"
export DAGCTL_HOME="${DAGCTL_HOME:-$PWD/.tmp/dagctl-home}"
if [[ $# -eq 0 ]]; then set -- "dist/test/**/*.test.js"; fi
npx mocha --reporter ./scripts/mocha-reporter.cjs "$@"
