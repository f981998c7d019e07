#!/usr/bin/env bash
# Run a real single-node Apache Kafka broker (KRaft mode) from Maven Central jars, for machines
# with Java 17 + Maven but no Docker engine. See shared/notes/kafka-local.md for the background.
#
#   kafka.sh install   copy the broker jars into infra/kafka/.local/libs-<version> (once)
#   kafka.sh start     reuse a broker that already answers, else start ours and wait until ready
#   kafka.sh stop      stop the broker we started (SIGTERM, then SIGKILL after 30 s)
#   kafka.sh status    say whether a broker answers, and our pid if it is ours
#   kafka.sh reset     stop and delete the broker's data (keeps the jars)
#
# Environment: KAFKA_BROKERS (first host:port is used; default 127.0.0.1:9092),
#              KAFKA_CONTROLLER_PORT (default 9093), KAFKA_START_TIMEOUT (seconds, default 90),
#              KAFKA_LOCAL_DIR (default infra/kafka/.local): where this broker keeps its data, logs,
#              properties, pid and cluster id. A second broker (a fault test that stops and wipes
#              its own) sets all three to a free port pair and a folder of its own; every broker
#              shares the jars, which always live in infra/kafka/.local/libs-<version>.
# Everything it writes lives under infra/kafka/.local/ (git-ignored) or KAFKA_LOCAL_DIR.
set -euo pipefail

# Pinned: 3.9.1 is the newest line that still accepts every protocol version kafkajs 2.2.4 uses.
# Must match <kafka.version> in pom.xml (the libs folder is named after it).
readonly KAFKA_VERSION=3.9.1

# Resolve our own directory so the script works from any cwd (and through a symlink).
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
readonly HERE
readonly JARS_HOME="$HERE/.local"
readonly LIBS="$JARS_HOME/libs-$KAFKA_VERSION"
# The marker holds the pom's checksum: a changed pom means the jars must be copied again.
readonly LIBS_MARKER="$JARS_HOME/libs-$KAFKA_VERSION.complete"
# Per-broker state. Resolved to an absolute path: it is written into server.properties and matched
# against the broker's command line.
LOCAL="${KAFKA_LOCAL_DIR:-$HERE/.local}"
mkdir -p "$LOCAL"
LOCAL="$(cd "$LOCAL" && pwd)"
readonly LOCAL
readonly DATA="$LOCAL/data"
readonly LOGS="$LOCAL/logs"
readonly LOG_FILE="$LOGS/kafka.log"
readonly PROPS="$LOCAL/server.properties"
readonly CLUSTER_ID_FILE="$LOCAL/cluster-id"
readonly PID_FILE="$LOCAL/kafka.pid"
readonly OURS_MARKER="$LOCAL/started-by-us"
readonly STARTED_LINE="Kafka Server started"

say() { printf 'kafka: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# --- broker address ---------------------------------------------------------------------------
# KAFKA_BROKERS may be "h1:p1,h2:p2" and may carry a scheme ("PLAINTEXT://h:p"); the first entry
# is the one we probe and, if it is on loopback, the port our own broker listens on.
first_broker="${KAFKA_BROKERS:-127.0.0.1:9092}"
first_broker="${first_broker%%,*}"
first_broker="${first_broker##*://}"
BROKER_HOST="${first_broker%:*}"
BROKER_PORT="${first_broker##*:}"
[[ "$first_broker" == *:* ]] || BROKER_PORT=9092
[[ "$BROKER_PORT" =~ ^[0-9]+$ ]] || die "cannot parse a port from KAFKA_BROKERS='${KAFKA_BROKERS:-}'"
[[ "$BROKER_HOST" == localhost ]] && BROKER_HOST=127.0.0.1
readonly BROKER_HOST BROKER_PORT
readonly CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
readonly START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"

# True when something accepts TCP connections on host:port. bash's /dev/tcp needs no extra
# package (nc is not installed on the project machines); timeout guards against a black hole.
port_open() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# The pid of the broker that runs from our server.properties, if any. The pid file is the normal
# source; checking the command line (not just kill -0) protects against a reused pid. If the pid
# file was lost, the exact command line still identifies our broker (never a broad match).
our_pid() {
  local pid=""
  [[ -f "$PID_FILE" ]] && pid="$(<"$PID_FILE")"
  if [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/cmdline" ]] \
      && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $PROPS"; then
    printf '%s\n' "$pid"
    return 0
  fi
  local candidate
  pid=""
  # Only the java process itself, not a launcher whose arguments contain the same words.
  for candidate in $(pgrep -f -- "kafka[.]Kafka ${PROPS//./[.]}\$" || true); do
    if [[ "$(cat "/proc/$candidate/comm" 2>/dev/null)" == java ]]; then pid=$candidate; break; fi
  done
  [[ -n "$pid" ]] || return 1
  printf '%s\n' "$pid" >"$PID_FILE"   # re-adopt it so stop/status work again
  printf '%s\n' "$pid"
}

# Seconds since an $EPOCHREALTIME value, with one decimal (bash has no float arithmetic).
elapsed_since() {
  local now=${EPOCHREALTIME/./} start=${1/./}
  local ds=$(((now - start) / 100000))
  printf '%d.%d' $((ds / 10)) $((ds % 10))
}

# --- install ------------------------------------------------------------------------------------
cmd_install() {
  local want
  want="$(sha256sum "$HERE/pom.xml" | cut -d' ' -f1)"
  if [[ -f "$LIBS_MARKER" && "$(<"$LIBS_MARKER")" == "$want" && -d "$LIBS" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven) to fetch the Kafka jars"
  command -v java >/dev/null || die "java not found: install Java 17 (apt-get install openjdk-17-jre-headless)"
  say "copying Kafka $KAFKA_VERSION jars from Maven Central into ${LIBS#"$HERE"/} (first run only)"
  mkdir -p "$JARS_HOME"
  # Copy into a temporary folder and rename at the end, so an interrupted download never leaves
  # a half-filled libs folder that looks complete. The plugin is pinned: Maven 3.8.7's default
  # maven-dependency-plugin is too old. Output is kept only to show it if Maven fails.
  local tmp="$LIBS.tmp.$$" mvn_log="$JARS_HOME/mvn-install.log"
  rm -rf "$tmp"
  if ! mvn -B -q -Dstyle.color=never -f "$HERE/pom.xml" \
      org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp" >"$mvn_log" 2>&1; then
    tail -n 30 "$mvn_log" >&2
    rm -rf "$tmp"
    die "maven could not copy the Kafka jars (full output: $mvn_log)"
  fi
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || { rm -rf "$tmp"; die "jar copy finished but kafka_2.13-$KAFKA_VERSION.jar is missing"; }
  rm -rf "$LIBS" "$mvn_log"
  mv "$tmp" "$LIBS"
  printf '%s\n' "$want" >"$LIBS_MARKER"
  say "jars ready ($(du -sh "$LIBS" | cut -f1))"
}

# --- start --------------------------------------------------------------------------------------
write_server_properties() {
  mkdir -p "$DATA" "$LOGS"
  # Single-node KRaft: this process is both broker and the only controller voter. Loopback only.
  cat >"$PROPS" <<EOF
# Generated by infra/kafka/kafka.sh on every start — edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$BROKER_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$BROKER_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA

# One broker: every internal topic must have replication factor 1, or consumer groups and
# transactions never become available ("group coordinator not available").
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
default.replication.factor=1
min.insync.replicas=1

# Topics appear on first use, with one partition unless the application creates them itself.
auto.create.topics.enable=true
num.partitions=1

# Quick on 2 cores: 1 partition instead of 50 for the internal topics (the first consumer-group
# join creates them), no 3 s wait before the first rebalance, and small thread pools.
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
num.replica.fetchers=1
log.cleaner.threads=1
# Local throwaway data: keep it bounded.
log.retention.hours=24
log.segment.bytes=67108864
EOF
}

format_storage() {
  # A fixed cluster id per checkout: formatting is idempotent (--ignore-formatted) and a data
  # folder is never rejected for belonging to another cluster. The id survives 'reset'.
  if [[ ! -s "$CLUSTER_ID_FILE" ]]; then
    java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid >"$CLUSTER_ID_FILE.tmp" 2>/dev/null \
      || die "could not generate a cluster id with kafka.tools.StorageTool"
    mv "$CLUSTER_ID_FILE.tmp" "$CLUSTER_ID_FILE"
  fi
  local out
  # -cp is quoted so Java, not the shell, expands the '*'.
  if ! out="$(java -Dlog4j.configuration="file:$HERE/log4j.properties" -cp "$LIBS/*" \
      kafka.tools.StorageTool format -t "$(<"$CLUSTER_ID_FILE")" -c "$PROPS" --ignore-formatted 2>&1)"; then
    printf '%s\n' "$out" >&2
    die "formatting the storage in ${DATA#"$HERE"/} failed (if the cluster id changed, run: $0 reset)"
  fi
}

cmd_start() {
  local pid
  if port_open "$BROKER_HOST" "$BROKER_PORT"; then
    if pid="$(our_pid)"; then
      say "broker already running at $BROKER_HOST:$BROKER_PORT (pid $pid, started by this script) — reusing it"
    else
      say "a broker already answers at $BROKER_HOST:$BROKER_PORT (not started by this script) — reusing it"
    fi
    return 0
  fi
  if [[ "$BROKER_HOST" != 127.0.0.1 ]]; then
    die "KAFKA_BROKERS points at $BROKER_HOST:$BROKER_PORT, which does not answer; this script only starts a broker on 127.0.0.1"
  fi
  if pid="$(our_pid)"; then
    # Our process exists but the port is closed: it is still starting or it is wedged.
    die "our broker (pid $pid) is running but $BROKER_HOST:$BROKER_PORT does not answer; see $LOG_FILE or run: $0 stop"
  fi
  if port_open 127.0.0.1 "$CONTROLLER_PORT"; then
    die "controller port 127.0.0.1:$CONTROLLER_PORT is taken by another process; set KAFKA_CONTROLLER_PORT"
  fi
  rm -f "$PID_FILE" "$OURS_MARKER"

  cmd_install
  write_server_properties
  format_storage

  say "starting Kafka $KAFKA_VERSION on 127.0.0.1:$BROKER_PORT (log: ${LOG_FILE#"$HERE"/})"
  local t0=$EPOCHREALTIME
  : >"$LOG_FILE"   # a fresh log per start, so the readiness grep cannot match an old run
  # setsid: the broker gets its own session, so it outlives the shell/job that started it and
  # is not hit by that job's Ctrl-C (-w: if setsid has to fork, it waits, so $! stays alive
  # as long as the broker). The inner bash writes its own pid and then execs java, so
  # the pid file names the java process itself whether or not setsid had to fork.
  setsid -w bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PID_FILE" \
    java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
      -Dlog4j.configuration="file:$HERE/log4j.properties" -Dkafka.logs.dir="$LOGS" \
      -cp "$LIBS/*" kafka.Kafka "$PROPS" \
    </dev/null >>"$LOG_FILE" 2>&1 &
  local launcher=$!

  # Ready = the broker logged its started line AND the client port accepts connections (the
  # port opens before the broker can serve metadata, so the port alone is not enough).
  local deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if [[ ! -s "$PID_FILE" ]] && ! kill -0 "$launcher" 2>/dev/null; then
      tail -n 30 "$LOG_FILE" >&2
      die "the broker could not be launched (setsid/java failed before it wrote its pid)"
    fi
    if [[ -s "$PID_FILE" ]]; then
      pid="$(<"$PID_FILE")"
      if ! kill -0 "$pid" 2>/dev/null; then
        say "broker process $pid exited during startup; last 30 lines of ${LOG_FILE}:"
        tail -n 30 "$LOG_FILE" >&2
        rm -f "$PID_FILE"
        exit 1
      fi
      if grep -q "$STARTED_LINE" "$LOG_FILE" && port_open 127.0.0.1 "$BROKER_PORT"; then
        break
      fi
    fi
    if ((SECONDS >= deadline)); then
      say "broker not ready after ${START_TIMEOUT}s; last 30 lines of ${LOG_FILE}:"
      tail -n 30 "$LOG_FILE" >&2
      say "it is left running (pid ${pid:-?}) so you can inspect it; stop it with: $0 stop"
      exit 1
    fi
    sleep 0.25
  done
  printf 'pid=%s started=%s port=%s\n' "$pid" "$(date -u +%FT%TZ)" "$BROKER_PORT" >"$OURS_MARKER"
  say "broker ready at 127.0.0.1:$BROKER_PORT (pid $pid) in $(elapsed_since "$t0")s"
}

# --- stop / status / reset ----------------------------------------------------------------------
cmd_stop() {
  local pid
  if ! pid="$(our_pid)"; then
    if [[ -f "$PID_FILE" ]]; then
      say "stale pid file (process $(<"$PID_FILE") is gone or is not our broker) — removing it"
    else
      say "no broker started by this script is running"
    fi
    rm -f "$PID_FILE" "$OURS_MARKER"
    return 0
  fi
  say "stopping broker (pid $pid)"
  # SIGTERM lets Kafka shut down cleanly (flush logs, close the metadata log) — fast on one node.
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.25; done
  if kill -0 "$pid" 2>/dev/null; then
    say "broker did not stop within 30s — sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && die "broker (pid $pid) survived SIGKILL; pid file kept"
  fi
  rm -f "$PID_FILE" "$OURS_MARKER"
  say "stopped"
}

cmd_status() {
  local pid answers=no
  port_open "$BROKER_HOST" "$BROKER_PORT" && answers=yes
  if pid="$(our_pid)"; then
    printf 'broker at %s:%s answers: %s; started by this script: pid %s\n' "$BROKER_HOST" "$BROKER_PORT" "$answers" "$pid"
  else
    printf 'broker at %s:%s answers: %s; started by this script: no\n' "$BROKER_HOST" "$BROKER_PORT" "$answers"
  fi
  [[ "$answers" == yes ]]
}

cmd_reset() {
  cmd_stop
  # Never delete the data under a live broker (it would fail its log dirs and shut down).
  if our_pid >/dev/null; then die "our broker is still running; not deleting its data"; fi
  rm -rf "$DATA" "$LOGS" "$PROPS"
  say "deleted broker data (jars kept in ${LIBS#"$HERE"/})"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  reset) cmd_reset ;;
  *) printf 'usage: %s install|start|stop|status|reset\n' "$0" >&2; exit 2 ;;
esac
