#!/usr/bin/env bash
# Provisions Debian's clang and lld (wasm-ld), the C toolchain of the WebAssembly kernels
# (native/*.c, rebuilt by scripts/build-wasm.mjs). The generated kernels are committed, so nothing
# needs the toolchain to run; the test suite uses it to rebuild every kernel and check that the
# committed bytes are current (test/operators/wasm-components.test.ts, `build-wasm.mjs --check`,
# which compares bytes only under the clang major that built them: CLANG_MAJOR in build-wasm.mjs).
#
# Usage:
#   scripts/provision/clang.sh         install clang and lld (apt-get) when missing; print clang's path
#
# Preconditions: Debian/Ubuntu with apt-get (root or sudo) when clang or wasm-ld is not installed
# yet. Only stdout carries the path; progress goes to stderr.
set -euo pipefail

log() { echo "clang.sh: $*" >&2; }

have() { command -v clang >/dev/null && command -v wasm-ld >/dev/null; }

install() {
  command -v apt-get >/dev/null || { log "clang/lld missing and no apt-get to install them"; exit 1; }
  log "installing clang and lld from Debian packages"
  local sudo=""
  [[ "$(id -u)" == 0 ]] || sudo="sudo"
  $sudo apt-get update >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends clang lld >&2
}

if ! have; then
  install
  have || { log "clang or wasm-ld still missing after apt-get install"; exit 1; }
fi
log "$(clang --version | head -1)"
command -v clang
