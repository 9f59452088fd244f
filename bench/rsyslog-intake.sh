#!/usr/bin/env bash
# Issue 8 §6, the rsyslog baseline: rsyslog receives the intake benchmark
# stream (bench/intakestream, the lines BenchmarkEndToEnd uses) over TCP and
# writes it to a file; kyojin (cloud serve: frame, parse, the shared Sigma
# rules, S2 segment store) receives the same stream the same way. Each
# daemon is a private instance with its own configuration in a temporary
# directory, pinned to one CPU core (taskset -c $CORE); the sender runs on
# another core. Reported per daemon: wall-clock events/s until every line is
# written, and events per CPU-second of the daemon (utime+stime from
# /proc/PID/stat, start-up excluded).
#
#   bench/rsyslog-intake.sh            # N=1000000 lines
#   N=200000 bench/rsyslog-intake.sh   # quicker
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
CORE=${CORE:-0}
SENDCORE=${SENDCORE:-1}
export PATH="$PATH:/usr/sbin:/sbin"
command -v rsyslogd >/dev/null || { echo "rsyslogd not installed (Debian package rsyslog); skipping"; exit 0; }

work=$(mktemp -d /tmp/kyojin-intake-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cputicks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
now() { date +%s.%N; }
waitport() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 not listening" >&2; return 1; }
send() { taskset -c "$SENDCORE" bash -c "cat '$work/stream.log' > /dev/tcp/127.0.0.1/$1"; }
stored() { # events counted by the kyojin store's segment indexes
  local idx=("$work"/ky/store/*/*/*.idx)
  [ -e "${idx[0]}" ] || { echo 0; return; }
  { cat "${idx[@]}" 2>/dev/null || true; } | { grep -o '"count":[0-9]*' || true; } | awk -F: '{s += $2} END {print s + 0}'
}
report() { # name t0 t1 ticks
  awk -v n="$N" -v name="$1" -v t0="$2" -v t1="$3" -v ticks="$4" -v hz="$hz" 'BEGIN {
    wall = t1 - t0; cpu = ticks / hz
    printf "%-8s %9d events  wall %6.2f s  %9.0f events/s  cpu %6.2f s  %9.0f events/cpu-s\n", name, n, wall, n / wall, cpu, (cpu > 0 ? n / cpu : 0) }'
}

echo "== stream: $N lines"
go run ./bench/intakestream/gen -n "$N" > "$work/stream.log"
ls -l "$work/stream.log" | awk '{printf "   %.1f MB\n", $5/1e6}'

# --- rsyslog: imtcp -> omfile (RSYSLOG_FileFormat) ---
mkdir -p "$work/rs"
rport=$(freeport)
cat > "$work/rs/rsyslog.conf" <<CONF
global(workDirectory="$work/rs" maxMessageSize="64k")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="$rport" ruleset="bench")
ruleset(name="bench") {
  action(type="omfile" file="$work/rs/out.log" template="RSYSLOG_FileFormat")
}
CONF
rsyslogd -N1 -f "$work/rs/rsyslog.conf" >/dev/null 2>&1 || { rsyslogd -N1 -f "$work/rs/rsyslog.conf"; exit 1; }
taskset -c "$CORE" rsyslogd -n -f "$work/rs/rsyslog.conf" -i "$work/rs/pid" >"$work/rs/stderr" 2>&1 &
rpid=$!
pids+=("$rpid")
waitport "$rport"
c0=$(cputicks "$rpid")
t0=$(now)
send "$rport"
while :; do
  n=$(wc -l < "$work/rs/out.log" 2>/dev/null || echo 0)
  [ "$n" -ge "$N" ] && break
  sleep 0.05
done
t1=$(now)
c1=$(cputicks "$rpid")
report rsyslog "$t0" "$t1" $((c1 - c0))
kill "$rpid"

# --- kyojin cloud serve: frame -> parse -> Sigma -> S2 segments ---
mkdir -p "$work/ky"
go build -o "$work/kyojin" ./cmd/kyojin
kport=$(freeport)
rules=""
for d in ../shared/data/logs/sigma/rules ../../shared/data/logs/sigma/rules; do
  [ -d "$d" ] && rules="rules: $(cd "$d" && pwd)" && break
done
cat > "$work/ky/cloud.yaml" <<CONF
store: $work/ky/store
timezone: UTC
queue: 65536
$rules
alerts: $work/ky/alerts.jsonl
listeners:
  - {name: tcp, type: tcp, address: "127.0.0.1:$kport"}
tenants:
  - {id: t000, name: bench, sources: [{listener: tcp}]}
CONF
GOMAXPROCS=1 taskset -c "$CORE" "$work/kyojin" cloud serve --config "$work/ky/cloud.yaml" --workers 1 >"$work/ky/stdout" 2>"$work/ky/stderr" &
kpid=$!
pids+=("$kpid")
waitport "$kport"
c0=$(cputicks "$kpid")
t0=$(now)
send "$kport"
# the store's segment indexes (written on every flush, at least once a
# second) count the stored events
while :; do
  n=$(stored)
  [ "$n" -ge "$N" ] && break
  sleep 0.05
done
t1=$(now)
c1=$(cputicks "$kpid")
report kyojin "$t0" "$t1" $((c1 - c0))
echo "   kyojin alerts: $(wc -l < "$work/ky/alerts.jsonl"); ${rules:-no shared rules}"
kill "$kpid"
