# Shared by scripts/provision/{redis,s3,kafka}.sh (sourced, not run): the tool cache, the pid file,
# a free loopback port, and stopping a server started by `start`. The sourcing script sets REPO,
# STATE (its state dir), PIDFILE, ENVFILE and a log() that writes to stderr.

# The per-machine tool cache (Go binaries, jars, venvs): outside the clone, so every fresh clone
# (every CI run) reuses what an earlier one built; `rm -rf` it to force a rebuild. The clone's
# `.tools` is a link to it (created when missing; a real `.tools` folder is used as it is).
tools_dir() {
  local cache="${DAGCTL_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dagctl/tools}"
  mkdir -p "$cache"
  if [[ ! -e "$REPO/.tools" && ! -L "$REPO/.tools" ]]; then ln -s "$cache" "$REPO/.tools"; fi
  (cd "$REPO/.tools" && pwd -P)
}

# The pid of the running server, or non-zero status when none is running.
running_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
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
