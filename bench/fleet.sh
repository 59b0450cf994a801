#!/usr/bin/env bash
# A fleet of remote workers on one machine: the LoadBalancer (workers: 0, Curve with an allow-list)
# in one network namespace, worker processes in NSW others ("machines"), each joined to it by its
# own veth pair. Runs:
#   1. ideal: 10 ms tasks at 2, 8 and 32 workers: total time against the ideal, broker CPU per task
#   2. slow:  8 workers, one 4x slower (its handler sleeps 40 ms), without and with hedge: total
#             time, tail, the tasks each worker did
#   3. churn: CHURN_SECONDS (300) of a map while a worker joins or leaves every second (leaving
#             alternately by SIGTERM and by SIGKILL): lost and doubled results
#
#   sudo bash bench/fleet.sh      # NSW=4 TASKS_PER_WORKER=200 SLOW_TASKS=800 CHURN_SECONDS=300 SKIP=""
#   SKIP="churn" sudo bash bench/fleet.sh     # leave out a part (ideal, slow, churn)
#
# Needs root and iproute2. Creates namespaces zlb-fl-<pid> and zlb-fw<k>-<pid> (10.201.<k>.1/.2 on
# veth pairs, only inside them) and removes every namespace and process it made on exit (trap),
# also on Ctrl-C or failure. Not part of CI. Prints one JSON line per run, then a table.
set -euo pipefail

NSW=${NSW:-4}
TASKS_PER_WORKER=${TASKS_PER_WORKER:-200}
SLOW_TASKS=${SLOW_TASKS:-800}
CHURN_SECONDS=${CHURN_SECONDS:-300}
SKIP=${SKIP:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NODE=${NODE:-$(command -v node)}
CLI="$ROOT/dist/cli.js"
DRIVER="$ROOT/bench/fleet/driver.js"
HANDLER="$ROOT/bench/fleet/handler.js"
PORT=5600

if [ "$(id -u)" != 0 ]; then echo "bench/fleet.sh: needs root (ip netns); try sudo" >&2; exit 1; fi
command -v ip >/dev/null || { echo "bench/fleet.sh: needs iproute2 (ip)" >&2; exit 1; }

TAG=$$
NS_LB="zlb-fl-$TAG"
TMP=$(mktemp -d)
WORKER_PIDS=()
DRIVER_PID=""
nsw() { echo "zlb-fw$1-$TAG"; }

cleanup() {
  set +e
  for pid in "${WORKER_PIDS[@]}" $DRIVER_PID; do kill -9 "$pid" 2>/dev/null; done
  for k in $(seq "$NSW") lb; do
    ns=$([ "$k" = lb ] && echo "$NS_LB" || nsw "$k")
    if ip netns list | grep -qw "$ns"; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
      ip netns del "$ns" 2>/dev/null
    fi
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -f "$CLI" ] || (cd "$ROOT" && npx tsc -p .)

echo "setting up $NS_LB and $NSW worker namespaces" >&2
ip netns add "$NS_LB"
ip -n "$NS_LB" link set lo up
for k in $(seq "$NSW"); do
  ns=$(nsw "$k")
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip link add "zfl$k-$TAG" type veth peer name "zfw$k-$TAG"
  ip link set "zfl$k-$TAG" netns "$NS_LB"
  ip link set "zfw$k-$TAG" netns "$ns"
  ip -n "$NS_LB" addr add "10.201.$k.1/24" dev "zfl$k-$TAG"
  ip -n "$ns" addr add "10.201.$k.2/24" dev "zfw$k-$TAG"
  ip -n "$NS_LB" link set "zfl$k-$TAG" up
  ip -n "$ns" link set "zfw$k-$TAG" up
done

"$NODE" "$CLI" keygen --out "$TMP/server.json" >/dev/null
"$NODE" "$CLI" keygen --out "$TMP/worker.json" >/dev/null

# start_worker <index> [name] [env...]: a worker in namespace (index % NSW) + 1, to the broker's address there.
start_worker() {
  local i=$1 name=${2:-w$1}; shift 2 || shift $#
  local k=$(( i % NSW + 1 ))
  env "$@" ip netns exec "$(nsw "$k")" "$NODE" "$CLI" worker "$HANDLER" --connect "tcp://10.201.$k.1:$PORT" --quiet \
    --server-key "$TMP/server.json" --key-file "$TMP/worker.json" --reconnect-max-interval 500 --name "$name" &
  WORKER_PIDS+=($!)
}
stop_workers() {
  for pid in "${WORKER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${WORKER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  WORKER_PIDS=()
}
driver() {
  ip netns exec "$NS_LB" "$NODE" "$DRIVER" "$@" --endpoint "tcp://0.0.0.0:$PORT" \
    --server-key "$TMP/server.json" --worker-key "$TMP/worker.json" | tee -a "$TMP/results.jsonl" >&2
}

if [[ " $SKIP " != *" ideal "* ]]; then
  for w in 2 8 32; do
    echo "ideal: $w workers" >&2
    for i in $(seq 0 $((w - 1))); do start_worker "$i"; done
    driver ideal --workers "$w" --tasks $((w * TASKS_PER_WORKER)) --ms 10
    stop_workers
  done
fi

if [[ " $SKIP " != *" slow "* ]]; then
  for hedge in "" "--hedge"; do
    echo "slow: 8 workers, one 4x slower ${hedge:-(no hedge)}" >&2
    for i in $(seq 0 6); do start_worker "$i"; done
    start_worker 7 slow ZEROLB_BENCH_SLOW=4
    driver slow --workers 8 --tasks "$SLOW_TASKS" --ms 10 $hedge
    stop_workers
  done
fi

if [[ " $SKIP " != *" churn "* ]]; then
  echo "churn: $CHURN_SECONDS s, a worker joins or leaves every second" >&2
  for i in $(seq 0 5); do start_worker "$i"; done
  driver churn --workers 6 --seconds "$CHURN_SECONDS" --ms 10 &
  DRIVER_PID=$!
  next=6
  kills=0
  for s in $(seq "$CHURN_SECONDS"); do
    sleep 1
    kill -0 "$DRIVER_PID" 2>/dev/null || break
    alive=()
    for pid in "${WORKER_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    WORKER_PIDS=("${alive[@]}")
    # Between 3 and 10 workers: join when few, leave when many, else alternate.
    if [ "${#alive[@]}" -le 3 ] || { [ "${#alive[@]}" -lt 10 ] && [ $((s % 2)) = 0 ]; }; then
      start_worker "$next"; next=$((next + 1))
    else
      victim=${alive[$((RANDOM % ${#alive[@]}))]}
      if [ $((kills % 2)) = 0 ]; then kill -TERM "$victim"; else kill -KILL "$victim"; fi
      kills=$((kills + 1))
    fi
  done
  wait "$DRIVER_PID" || true
  DRIVER_PID=""
  echo "churn: $((next - 6)) workers joined, $kills left ($(( (kills + 1) / 2 )) by SIGTERM, $((kills / 2)) by SIGKILL)" >&2
  stop_workers
fi

echo >&2
cat "$TMP/results.jsonl"
