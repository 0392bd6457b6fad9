#!/usr/bin/env bash
# Reproduces the performance table: chat-server under load from chat-load, against Redis pub/sub.
#
#   bash bench/run.sh                          # everything, under 10 minutes on 2 cores
#   IDLE_CONNECTIONS=2000 bash bench/run.sh    # a smaller idle scenario
#
# It builds release binaries, installs redis-server and jq if they are missing (apt-get; needs root),
# starts redis-server (loopback, a free port, no persistence) and chat-server (loopback, in memory,
# limits raised for the load), runs every scenario and prints a markdown table. Raw JSON results go to
# $BENCH_OUT (default target/bench). Everything listens on 127.0.0.1 only. This is not part of CI.
#
# Scenarios:
#   1. fan-out: 1 sender broadcasting to 100, then 1,000 TCP clients; the highest rate that holds
#      (nothing lost, p99 <= 100 ms), chatproto vs Redis; goal: chatproto delivers >= 1.2x Redis.
#   2. fan-out to 100 UDP clients (chatproto only).
#   3. many-to-many: 1,000 TCP clients all broadcasting; find the highest rate that holds, then run at
#      half of it; goal: p99 < 10 ms.
#   4. 10,000 idle logged-in TCP connections on a fresh server; goal: <= 16 KiB of server RSS each.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:-target/bench}
mkdir -p "$OUT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

STARTED=$SECONDS
log() { printf '\n== [%4ds] %s\n' "$((SECONDS - STARTED))" "$*" >&2; }

log "building release binaries"
cargo build --release -p chatproto-examples --bin chat-server --bin chat-load >&2
BIN="$CARGO_TARGET_DIR/release"

if ! command -v redis-server >/dev/null || ! command -v jq >/dev/null; then
    log "installing redis-server and jq"
    apt-get update >&2 && apt-get install -y redis-server jq >&2
fi

# Thousands of sockets need thousands of file descriptors, here and in the children started below.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 10100 ]; then
    echo "warning: only $(ulimit -n) open files allowed; the idle scenario needs about 10,100 in each process" >&2
fi

# A free TCP port on loopback, below the ephemeral range (32768 and up on Linux) so that no outgoing
# connection holds it: nothing answers a connection to it.
free_port() {
    local port
    for _ in $(seq 100); do
        port=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    echo "no free port found" >&2
    exit 1
}

PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
trap cleanup EXIT

# Another process may take the port between the check and the bind: try a few.
REDIS_PID=
for _ in 1 2 3 4 5; do
    REDIS_PORT=$(free_port)
    log "starting redis-server on 127.0.0.1:$REDIS_PORT"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
        --daemonize no --logfile "$OUT/redis.log" &
    REDIS_PID=$!
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && break
        kill -0 "$REDIS_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$REDIS_PID" 2>/dev/null; then
        PIDS+=("$REDIS_PID")
        break
    fi
    REDIS_PID=
done
[ -n "$REDIS_PID" ] || { echo "redis-server would not start; see $OUT/redis.log" >&2; exit 1; }
REDIS_URL="redis://127.0.0.1:$REDIS_PORT"

# The server's defaults limit each client to a burst of 100 and 50 packets a second (R-9.3) and to
# 10,000 sessions (R-9.2): fine for people, far too little for a load test. Raise whatever this
# chat-server lets us raise.
SERVER_HELP=$("$BIN/chat-server" --help)
LIMIT_FLAGS=()
has_flag() { grep -q -- "$1" <<<"$SERVER_HELP"; }
has_flag --rate-burst && LIMIT_FLAGS+=(--rate-burst 1000000000)
has_flag --rate-per-second && LIMIT_FLAGS+=(--rate-per-second 1000000000)
has_flag --max-sessions && LIMIT_FLAGS+=(--max-sessions 20000)
if ! has_flag --rate-burst; then
    echo "note: chat-server has no --rate-burst/--rate-per-second; running with its built-in limits" >&2
fi

SERVER_PID=
SERVER_TCP=
SERVER_UDP=
start_server() {
    local out="$OUT/chat-server.$1.out"
    "$BIN/chat-server" --memory --tcp 127.0.0.1:0 --udp 127.0.0.1:0 --log-level warn \
        "${LIMIT_FLAGS[@]}" >"$out" 2>"$OUT/chat-server.$1.err" &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    for _ in $(seq 300); do
        grep -q "chat-server listening" "$out" 2>/dev/null && break
        sleep 0.1
    done
    # "chat-server listening on tcp 127.0.0.1:P, udp 127.0.0.1:Q; data: memory only"
    SERVER_TCP=$(sed -n 's/.*listening on tcp \([^,]*\),.*/\1/p' "$out")
    SERVER_UDP=$(sed -n 's/.* udp \([^;]*\);.*/\1/p' "$out")
    [ -n "$SERVER_TCP" ] || { echo "chat-server did not start:" >&2; cat "$OUT/chat-server.$1.err" >&2; exit 1; }
    log "chat-server $SERVER_PID on tcp $SERVER_TCP, udp $SERVER_UDP (${LIMIT_FLAGS[*]:-default limits})"
}
stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
}

# Searches: 0.5 s warm-up, 2 s measured per round; a round holds if nothing is lost and p99 <= 50 ms.
# Runs chat-load with its JSON going to the file $1; a failed run leaves "{}" there, so the table shows
# "-" for it and the other scenarios still run.
load() {
    local file=$1
    shift
    if ! "$BIN/chat-load" "$@" >"$file"; then
        echo "chat-load failed: $*" >&2
        echo "{}" >"$file"
    fi
}

IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-10000}
# Each login sends a notice to everyone online (R-8.4): N logins cost about N²/2 notices, 50 million
# for 10,000. The idle scenario measures after IDLE_WITHIN seconds at the latest, with whatever has
# logged in by then, and the table says how many that was.
IDLE_WITHIN=${IDLE_WITHIN:-240}

# Searches: 0.5 s warm-up, 2 s measured per round. A round holds if nothing is lost, 95 % of the offered
# deliveries arrive within the window and p99 <= 100 ms: past the highest rate that holds, queues grow
# and so does latency, by about 100 ms in 2 s for each 5 % beyond it.
SEARCH=(--find-max --warmup 0.5 --step-duration 2 --drain 3 --refine 3 --max-p99-ms 100 --quiet --json)

start_server load
log "fan-out to 100 TCP clients, chatproto vs Redis"
load "$OUT/fanout-100.json" --tcp "$SERVER_TCP" --server-pid "$SERVER_PID" --name-prefix f100- \
    --clients 100 --senders 1 --rate 100 "${SEARCH[@]}" --compare-redis "$REDIS_URL"
sleep 2
log "fan-out to 1,000 TCP clients, chatproto vs Redis"
load "$OUT/fanout-1000.json" --tcp "$SERVER_TCP" --server-pid "$SERVER_PID" --name-prefix f1k- \
    --clients 1000 --senders 1 --rate 10 "${SEARCH[@]}" --compare-redis "$REDIS_URL"
sleep 2
log "fan-out to 100 UDP clients"
load "$OUT/fanout-100-udp.json" --udp "$SERVER_UDP" --server-pid "$SERVER_PID" --name-prefix u100- \
    --clients 100 --senders 1 --rate 100 "${SEARCH[@]}"
sleep 2
log "1,000 TCP clients all broadcasting: highest rate, then half of it for 5 s"
load "$OUT/many-1000.json" --tcp "$SERVER_TCP" --server-pid "$SERVER_PID" --name-prefix m1k- \
    --clients 1000 --rate 10 "${SEARCH[@]}" --at-half-max --duration 5
stop_server

start_server idle
log "$IDLE_CONNECTIONS idle TCP connections (at most ${IDLE_WITHIN} s)"
load "$OUT/idle.json" --tcp "$SERVER_TCP" --server-pid "$SERVER_PID" --name-prefix idle- \
    --idle "$IDLE_CONNECTIONS" --idle-within "$IDLE_WITHIN" --connect-concurrency 64 --quiet --json
stop_server

# ---- the table ----
num() { jq -r "$2" "$1" 2>/dev/null || echo null; }
fmt() {
    if [[ "$1" =~ ^[0-9.eE+-]+$ ]]; then
        printf "%.0f" "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'
    else
        echo "-"
    fi
}
ms() { awk -v us="$1" 'BEGIN { if (us == "null" || us == "") print "-"; else printf "%.2f ms", us / 1000 }'; }
yes_no() { awk -v v="$1" -v goal="$2" -v op="$3" 'BEGIN {
    if (v == "null" || v == "") { print "-"; exit }
    if ((op == ">=" && v >= goal) || (op == "<=" && v <= goal) || (op == "<" && v < goal)) print "yes"; else print "**no**" }'; }

# A rate in msg/s: two decimals below 100, since 1,000 slow senders may add up to a few a second.
rate() {
    if [[ ! "$1" =~ ^[0-9.eE+-]+$ ]]; then
        echo "-"
    elif awk -v r="$1" 'BEGIN { exit !(r < 100) }'; then
        printf "%.2f" "$1"
    else
        fmt "$1"
    fi
}

# "-" unless the value is a number.
or_dash() { [[ "$1" =~ ^[0-9.eE+-]+$ ]] && echo "$1" || echo "-"; }

# The highest rate that held for one system of a run: "<delivered/s> (p99 …, server CPU …%)", or "-".
held() {
    local file=$1 system=$2 delivered p99 cpu
    delivered=$(num "$file" ".systems[$system].max.delivered_per_s // \"null\"")
    [ "$(or_dash "$delivered")" = - ] && { echo "- (none held)"; return; }
    p99=$(num "$file" ".systems[$system].max.latency.p99_us // \"null\"")
    cpu=$(num "$file" ".systems[$system].max.server.cpu_percent // \"null\" | if type == \"number\" then floor else . end")
    echo "$(fmt "$delivered") (p99 $(ms "$p99"), server CPU $(or_dash "$cpu")%)"
}

fanout_row() {
    local file=$1 label=$2 chat redis ratio
    chat=$(num "$file" '.systems[0].max.delivered_per_s // "null"')
    redis=$(num "$file" '.systems[1].max.delivered_per_s // "null"')
    ratio=$(awk -v a="$chat" -v b="$redis" 'BEGIN { if (a != "null" && b != "null" && b > 0) printf "%.2f", a / b; else print "null" }')
    echo "| $label | delivered msgs/s at the highest rate that holds | $(held "$file" 0) | $(held "$file" 1) | ≥ 1.2 × Redis: $(or_dash "$ratio") × | $(yes_no "$ratio" 1.2 '>=') |"
}

m_max=$(num "$OUT/many-1000.json" '.systems[0].max.rate // "null"')
m_max_delivered=$(num "$OUT/many-1000.json" '.systems[0].max.delivered_per_s // "null"')
m_rate=$(num "$OUT/many-1000.json" '.systems[0].result.rate // "null"')
m_delivered=$(num "$OUT/many-1000.json" '.systems[0].result.delivered_per_s // "null"')
m_p99=$(num "$OUT/many-1000.json" 'if .systems[0].max then .systems[0].result.latency.p99_us // "null" else "null" end')
m_lost=$(num "$OUT/many-1000.json" '.systems[0].result.lost // "null"')
if [ "$(or_dash "$m_max")" = - ]; then
    many="no rate held"
else
    many="p99 $(ms "$m_p99") at $(rate "$m_rate") msg/s ($(fmt "$m_delivered") delivered/s, lost $m_lost); highest that held: $(rate "$m_max") msg/s, $(fmt "$m_max_delivered") delivered/s"
fi
idle_n=$(num "$OUT/idle.json" '.connected // "null"')
idle_kib=$(num "$OUT/idle.json" '.server_kib_per_connection // "null"')
idle_complete=$(num "$OUT/idle.json" 'if .complete then "" else " (time ran out)" end')

log "done"
echo
echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores in $((SECONDS - STARTED)) s; chat-load and the servers share them."
echo
echo "| scenario | figure | chatproto | Redis pub/sub | goal | met? |"
echo "| --- | --- | --- | --- | --- | --- |"
fanout_row "$OUT/fanout-100.json" "fan-out 1 → 100 TCP clients"
fanout_row "$OUT/fanout-1000.json" "fan-out 1 → 1,000 TCP clients"
echo "| fan-out 1 → 100 UDP clients | delivered msgs/s at the highest rate that holds | $(held "$OUT/fanout-100-udp.json" 0) | | | |"
echo "| 1,000 TCP clients all broadcasting | p99 at half the highest rate that holds | $many | | p99 < 10 ms | $(yes_no "$m_p99" 10000 '<') |"
echo "| $(fmt "$idle_n") of $(fmt "$IDLE_CONNECTIONS") idle TCP connections$idle_complete | server RSS per connection | $(awk -v k="$idle_kib" 'BEGIN { if (k == "null") print "-"; else printf "%.1f KiB", k }') | | ≤ 16 KiB | $(yes_no "$idle_kib" 16 '<=') |"
