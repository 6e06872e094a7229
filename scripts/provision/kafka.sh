#!/usr/bin/env bash
# Provisions a real Apache Kafka broker (KRaft mode, no ZooKeeper) on loopback for dagctl's ingest
# tests (test/ingest/) and for trying `dagctl ingest kafka` by hand.
#
# Broker: Apache Kafka $VERSION (default 3.9.1, the last 3.x: 4.0 removed old protocol versions,
# KIP-896, and kafkajs 2.2.4 predates that; 4.x is untried). Its jars come from Maven Central only: a generated pom
# depending on org.apache.kafka:kafka_2.13 (+ an slf4j binding) and `mvn dependency:copy-dependencies`
# into .tools/kafka-$VERSION/libs (cached: later starts skip Maven). One JVM is both controller
# and broker (process.roles=broker,controller), -Xmx512m.
#
# Usage:
#   scripts/provision/kafka.sh build   fetch (or reuse) .tools/kafka-$VERSION/libs
#   scripts/provision/kafka.sh start   build if needed, format a temp log dir (kafka.tools.StorageTool),
#                                      start on free 127.0.0.1 ports, wait until the broker answers,
#                                      print `export DAGCTL_TEST_KAFKA_BROKERS=127.0.0.1:PORT`
#   scripts/provision/kafka.sh env     print the export line of the running broker again
#   scripts/provision/kafka.sh stop    stop the broker started by `start` and delete its data dir
# Typical: eval "$(scripts/provision/kafka.sh start)"; npx mocha 'dist/test/ingest/**/*.test.js';
#          scripts/provision/kafka.sh stop
#
# Preconditions: Java >= 17, Maven (reaching Maven Central) on the first run, node (free ports and
# the readiness probe use this repo's kafkajs). Only stdout carries the export line; progress goes
# to stderr.
set -euo pipefail

VERSION="${DAGCTL_KAFKA_VERSION:-3.9.1}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${DAGCTL_KAFKA_STATE_DIR:-$REPO/.tmp/kafka-server}"
PIDFILE="$STATE/kafka.pid"
ENVFILE="$STATE/env.sh"
HEAP="${DAGCTL_KAFKA_HEAP:--Xmx512m -Xms128m}"

log() { echo "kafka.sh: $*" >&2; }
# shellcheck source=scripts/provision/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TOOLS="$(tools_dir)"
HOME_DIR="$TOOLS/kafka-$VERSION"
LIBS="$HOME_DIR/libs"

build() {
  if [[ -f "$HOME_DIR/.complete" ]]; then
    log "using cached $LIBS ($(ls "$LIBS" | wc -l) jars)"
    return
  fi
  command -v mvn >/dev/null || { log "maven not found; cannot fetch Kafka from Maven Central"; exit 1; }
  log "fetching Apache Kafka $VERSION jars from Maven Central (first run only)"
  local start=$SECONDS tmp="$HOME_DIR.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # kafka_2.13 pulls the KRaft modules (raft, metadata, storage, group-coordinator, server) as
  # compile/runtime deps; slf4j-reload4j is the log binding Kafka's own distribution ships.
  cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dagctl.provision</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
EOF
  # A local repository inside .tools keeps the cache next to the jars and out of ~/.m2.
  mvn -q -B -f "$tmp/pom.xml" -Dmaven.repo.local="$TOOLS/m2" \
    dependency:copy-dependencies -DoutputDirectory="$tmp/libs" -DincludeScope=runtime >&2
  # log4j config: warnings only, to the data dir's log (set per start via -Dkafka.logs.dir).
  cat >"$tmp/log4j.properties" <<'EOF'
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=${kafka.logs.dir}/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
EOF
  touch "$tmp/.complete"
  rm -rf "$HOME_DIR"
  mv "$tmp" "$HOME_DIR"
  log "fetched $(ls "$LIBS" | wc -l) jars in $((SECONDS - start))s"
}



# Readiness: a kafkajs admin can connect and list topics (metadata served = broker registered).
probe() {
  (cd "$REPO" && node --input-type=module -e "
    import { Kafka, logLevel } from 'kafkajs';
    const a = new Kafka({ brokers: ['127.0.0.1:$1'], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 }).admin();
    try { await a.connect(); await a.listTopics(); process.exit(0); } catch { process.exit(1); }
  ") >/dev/null 2>&1
}

start() {
  if running_env; then log "already running (pid $(cat "$PIDFILE"))"; return; fi
  build
  mkdir -p "$STATE"
  local t0=$SECONDS data port cport tries=0
  while :; do
    data="$(mktemp -d "$STATE/data.XXXXXX")"
    port="$(free_port)"
    cport="$(free_port)"
    [[ "$port" != "$cport" ]] || continue
    cat >"$data/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data/logs
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
EOF
    local cp="$LIBS/*" jvm=($HEAP -XX:+UseSerialGC -Djava.awt.headless=true -Dkafka.logs.dir="$data" -Dlog4j.configuration="file:$HOME_DIR/log4j.properties")
    local cluster
    # A cluster id is a UUID's 16 bytes in unpadded base64url (what `StorageTool random-uuid`
    # prints); made by node, it saves a JVM start. Like Kafka's Uuid.randomUuid, never one that
    # starts with '-': the format tool's argument parser takes it for an option (1 start in 64
    # failed so, silently, before this).
    cluster="$(node -e 'const c=require("crypto");let s;do{s=c.randomBytes(16).toString("base64url")}while(s[0]==="-");process.stdout.write(s)')"
    if ! java "${jvm[@]}" -cp "$cp" kafka.tools.StorageTool format --cluster-id="$cluster" -c "$data/server.properties" >>"$data/stderr.log" 2>&1; then
      log "formatting the log dir failed; its output follows"
      tail -20 "$data/stderr.log" >&2 || true
      exit 1
    fi
    # setsid: the broker outlives this script; `stop` signals only its pid.
    setsid java "${jvm[@]}" -cp "$cp" kafka.Kafka "$data/server.properties" </dev/null >>"$data/stdout.log" 2>>"$data/stderr.log" &
    local pid=$!
    echo "$pid" >"$PIDFILE"
    echo "$data" >"$STATE/datadir"
    local i ok=0
    for i in $(seq 1 120); do
      kill -0 "$pid" 2>/dev/null || break
      if probe "$port"; then ok=1; break; fi
      sleep 0.5
    done
    ((ok == 1)) && break
    # Lost a port race or failed to start: retry a couple of times, then give up loudly.
    kill "$pid" 2>/dev/null || true
    tries=$((tries + 1))
    if ((tries >= 3)); then
      log "kafka did not start; logs follow"
      tail -50 "$data/stderr.log" "$data/server.log" >&2 || true
      exit 1
    fi
  done
  echo "export DAGCTL_TEST_KAFKA_BROKERS=127.0.0.1:$port" >"$ENVFILE"
  log "kafka $VERSION (KRaft) on 127.0.0.1:$port (pid $(cat "$PIDFILE"), data $data), up in $((SECONDS - t0))s"
  cat "$ENVFILE"
}

stop() { stop_server 100; }

case "${1:-}" in
  build) build ;;
  start) start ;;
  env) running_env || { log "not running"; exit 1; } ;;
  stop) stop ;;
  *) echo "usage: $0 build|start|env|stop" >&2; exit 2 ;;
esac
