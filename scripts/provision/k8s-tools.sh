#!/usr/bin/env bash
# Builds the Kubernetes checking tools the chart tests use (test/deploy/helm.test.ts), once per
# machine, into the shared tool cache (lib.sh tools_dir):
#   helm          helm.sh/helm/v3/cmd/helm at $DAGCTL_HELM_VERSION, from the Go module proxy;
#   k8s-validate  deploy/validate: strict decoding of manifests into the Kubernetes (client-go
#                 scheme), KEDA and Prometheus-operator API types. Cached under a hash of its
#                 go.mod, go.sum and main.go, so an edited validator is rebuilt.
#
# Usage:
#   scripts/provision/k8s-tools.sh build   build what is missing (first run: several minutes of Go
#                                          compilation on 2 busy cores; later runs: nothing)
#   scripts/provision/k8s-tools.sh env     build if needed, then print `export DAGCTL_HELM=…
#                                          DAGCTL_K8S_VALIDATE=…`
# Typical: eval "$(scripts/provision/k8s-tools.sh env)"; npx mocha 'dist/test/deploy/**/*.test.js'
#
# Preconditions: a Go toolchain (>= 1.26: KEDA v2.21's apis need it) reaching the Go module proxy.
# Only stdout carries the export lines; progress goes to stderr.
set -euo pipefail

HELM_VERSION="${DAGCTL_HELM_VERSION:-v3.21.4}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="$REPO/.tmp/k8s-tools"
ENVFILE="$STATE/env.sh"

log() { echo "k8s-tools.sh: $*" >&2; }
# shellcheck source=scripts/provision/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TOOLS="$(tools_dir)"
HELM="$TOOLS/helm-$HELM_VERSION/bin/helm"
VALIDATE_SRC="$REPO/deploy/validate"
VALIDATE_HASH="$(cat "$VALIDATE_SRC/go.mod" "$VALIDATE_SRC/go.sum" "$VALIDATE_SRC/main.go" | sha256sum | cut -c1-16)"
VALIDATE="$TOOLS/k8s-validate-$VALIDATE_HASH/bin/k8s-validate"

need_go() {
  command -v go >/dev/null || { log "go toolchain not found; cannot build $1"; exit 1; }
}

# go build/install into a temp dir, then rename: an interrupted build never leaves a half-written binary.
build_helm() {
  if [[ -x "$HELM" ]]; then log "using cached $HELM"; return; fi
  need_go helm
  log "building helm $HELM_VERSION (first run only; 3-12 min on 2 busy cores)"
  local tmp="$TOOLS/helm-$HELM_VERSION.tmp.$$" start=$SECONDS
  rm -rf "$tmp"; mkdir -p "$tmp/bin"
  GOBIN="$tmp/bin" GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  mkdir -p "$(dirname "$HELM")"
  mv "$tmp/bin/helm" "$HELM"
  rm -rf "$tmp"
  log "helm built in $((SECONDS - start))s"
}

build_validate() {
  if [[ -x "$VALIDATE" ]]; then log "using cached $VALIDATE"; return; fi
  need_go k8s-validate
  log "building k8s-validate $VALIDATE_HASH (first run only; 3-15 min on 2 busy cores)"
  local tmp="$TOOLS/k8s-validate-$VALIDATE_HASH.tmp.$$" start=$SECONDS
  rm -rf "$tmp"; mkdir -p "$tmp/bin"
  (cd "$VALIDATE_SRC" && GOFLAGS=-buildvcs=false CGO_ENABLED=0 go build -o "$tmp/bin/k8s-validate" .) >&2
  mkdir -p "$(dirname "$VALIDATE")"
  mv "$tmp/bin/k8s-validate" "$VALIDATE"
  rm -rf "$tmp"
  log "k8s-validate built in $((SECONDS - start))s"
}

build() { build_helm; build_validate; }

env_lines() {
  build
  mkdir -p "$STATE"
  printf 'export DAGCTL_HELM=%s\nexport DAGCTL_K8S_VALIDATE=%s\n' "$HELM" "$VALIDATE" | tee "$ENVFILE"
}

case "${1:-}" in
  build) build ;;
  env) env_lines ;;
  *) echo "usage: $0 build|env" >&2; exit 2 ;;
esac
