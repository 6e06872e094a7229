# Shared by scripts/provision/*.sh (sourced, not run): the tool cache, a Python venv in it, the pid
# file, a free loopback port, and stopping a server started by `start`. The sourcing script sets
# REPO and a log() that writes to stderr; the server scripts also STATE (their state dir), PIDFILE
# and ENVFILE.

# The per-machine tool cache (Go binaries, jars, venvs): outside the clone, so every fresh clone
# (every CI run) reuses what an earlier one built; `rm -rf` it to force a rebuild. The clone's
# `.tools` is a link to it (created when missing; a real `.tools` folder is used as it is).
tools_dir() {
  local cache="${DAGCTL_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dagctl/tools}"
  mkdir -p "$cache"
  if [[ ! -e "$REPO/.tools" && ! -L "$REPO/.tools" ]]; then ln -s "$cache" "$REPO/.tools"; fi
  (cd "$REPO/.tools" && pwd -P)
}

# python_venv [--remember-failure] NAME IMPORTS PIP_SPEC...: a venv NAME in the tool cache with the
# PIP_SPECs installed from PyPI (the first time) and IMPORTS (comma-separated modules) importable;
# prints its python's path on stdout, progress on stderr. `.complete` is written last, so a venv an
# interrupted install left behind is rebuilt; `rm -rf` it to force a reinstall. A failed install
# returns 1 (the next call tries again) — with --remember-failure it leaves the reason in `.failed`
# and later calls return 1 at once, until the venv is removed (optional peers, skipped quickly).
python_venv() {
  local remember=0
  if [[ "${1:-}" == --remember-failure ]]; then remember=1; shift; fi
  local name="$1" imports="$2" dir
  shift 2
  dir="$(tools_dir)/$name"
  if [[ ! -f "$dir/.complete" && ! -f "$dir/.failed" ]]; then
    log "creating $dir ($* from PyPI)"
    rm -rf "$dir"
    if python3 -m venv "$dir" >&2 && "$dir/bin/pip" install --quiet --disable-pip-version-check "$@" >&2 && "$dir/bin/python" -c "import $imports" >&2; then
      touch "$dir/.complete"
    elif ((remember)); then
      mkdir -p "$dir"
      echo "pip install $* or import $imports failed (see above); rm -rf $dir to retry" > "$dir/.failed"
    else
      log "$name: pip install $* or import $imports failed (see above)"
      return 1
    fi
  fi
  if [[ -f "$dir/.complete" ]]; then echo "$dir/bin/python"; return 0; fi
  log "$name: $(cat "$dir/.failed")"
  return 1
}

# The pid of the running server, or non-zero status when none is running.
running_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# The running server's export lines (its ENVFILE) on stdout, or non-zero status when none is
# running: `start` reuses a running server, `env` prints them again.
running_env() {
  running_pid >/dev/null || return 1
  cat "$ENVFILE"
}

# A port the kernel just handed out on 127.0.0.1 (free unless someone races us for it).
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}

# SIGTERM, wait up to $1 tenths of a second (default 50), then SIGKILL; remove the data dir and
# the state files.
stop_server() {
  local pid waits="${1:-50}"
  if pid="$(running_pid)"; then
    kill "$pid"
    for _ in $(seq 1 "$waits"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    log "stopped pid $pid"
  else
    log "not running"
  fi
  if [[ -f "$STATE/datadir" ]]; then rm -rf "$(cat "$STATE/datadir")"; fi
  rm -f "$PIDFILE" "$ENVFILE" "$STATE/datadir"
}
