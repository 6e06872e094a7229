#!/usr/bin/env bash
# The whole test suite, as CI runs it (`npm test`): type-check and build, lint, start the real
# servers the integration tests talk to on loopback (redis-server from Debian packages, an
# S3-compatible server built from the Go module proxy, Apache Kafka from Maven Central; helm and
# the manifest validator built from the Go module proxy too; Debian's chromium for the web UI's
# browser tests; Debian's clang and lld to rebuild the WebAssembly kernels; delta-rs from PyPI in a
# cached venv, the foreign reader of views), run every mocha test, stop the servers.
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
npx tsc -p ui/web/tsconfig.json
echo "== lint"
npx eslint --max-warnings 0 .

echo "== servers"
# Each start's output is captured first: `eval "$(… start)"` would run on even when a start
# failed (eval of nothing succeeds), and the tests would then fail without saying why.
env_lines="$(scripts/provision/redis.sh start)"; eval "$env_lines"
env_lines="$(scripts/provision/s3.sh start)"; eval "$env_lines"
env_lines="$(scripts/provision/kafka.sh start)"; eval "$env_lines"
# helm + k8s-validate (built once per machine); without Go (and outside CI) the deploy tests skip.
if command -v go >/dev/null || [[ -n "${CI:-}" && "${CI:-}" != false ]]; then
  env_lines="$(scripts/provision/k8s-tools.sh env)"; eval "$env_lines"
else
  echo "no go toolchain: helm and k8s-validate not built, test/deploy/helm.test.ts will skip"
fi
env_lines="$(scripts/provision/chromium.sh env)"; eval "$env_lines"
# clang + lld from Debian: the suite rebuilds the WebAssembly kernels and checks the committed bytes.
scripts/provision/clang.sh >/dev/null
# delta-rs (Python deltalake from PyPI, a cached venv): the foreign reader of views. Not a server.
env_lines="$(scripts/provision/deltalake.sh start)"; eval "$env_lines"

echo "== tests"
export DAGCTL_HOME="${DAGCTL_HOME:-$PWD/.tmp/dagctl-home}"
if [[ $# -eq 0 ]]; then set -- "dist/test/**/*.test.js"; fi
npx mocha --reporter ./scripts/mocha-reporter.cjs "$@"
