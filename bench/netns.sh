#!/usr/bin/env bash
# zerolb across two hosts, simulated: two network namespaces joined by a veth pair. The
# LoadBalancer (workers: 0, Curve with an allow-list) runs in one, two `zerolb worker`s in the
# other; then the same run with everything on loopback in one namespace. Reports tasks/s of
# no-op tasks and of 64 KiB tasks (echoed back, so 64 KiB cross each way), median of the rounds.
#
#   sudo bash bench/netns.sh            # ROUNDS=5 NOOP=1000000 BIG=20000 SIZE=65536 WORKERS=2
#
# Needs root and iproute2 (`ip netns`). Creates namespaces zlb-lb-<pid> and zlb-wk-<pid> with
# 10.200.0.1/24 and 10.200.0.2/24 on a fresh veth pair, only inside them; removes everything on
# exit (trap), also on Ctrl-C or failure. Not part of CI.
set -euo pipefail

ROUNDS=${ROUNDS:-5}
NOOP=${NOOP:-1000000}
BIG=${BIG:-20000}
SIZE=${SIZE:-65536}
WORKERS=${WORKERS:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NODE=${NODE:-$(command -v node)}
CLI="$ROOT/dist/cli.js"
DRIVER="$ROOT/bench/netns/driver.js"
HANDLER="$ROOT/bench/netns/handler.js"

if [ "$(id -u)" != 0 ]; then echo "bench/netns.sh: needs root (ip netns); try sudo" >&2; exit 1; fi
command -v ip >/dev/null || { echo "bench/netns.sh: needs iproute2 (ip)" >&2; exit 1; }

TAG=$$
NS_LB="zlb-lb-$TAG"
NS_WK="zlb-wk-$TAG"
VETH_LB="zlbl$TAG"
VETH_WK="zlbw$TAG"
LB_ADDR=10.200.0.1
WK_ADDR=10.200.0.2
TMP=$(mktemp -d)
WORKER_PIDS=()

cleanup() {
  set +e
  for pid in "${WORKER_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
  # Anything still running inside the namespaces this script made (only its own processes).
  for ns in "$NS_LB" "$NS_WK"; do
    if ip netns list | grep -qw "$ns"; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
      ip netns del "$ns" 2>/dev/null
    fi
  done
  ip link del "$VETH_LB" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -f "$CLI" ] || (cd "$ROOT" && npx tsc -p .)

echo "setting up namespaces $NS_LB ($LB_ADDR) and $NS_WK ($WK_ADDR) joined by veth $VETH_LB/$VETH_WK" >&2
ip netns add "$NS_LB"
ip netns add "$NS_WK"
ip link add "$VETH_LB" type veth peer name "$VETH_WK"
ip link set "$VETH_LB" netns "$NS_LB"
ip link set "$VETH_WK" netns "$NS_WK"
ip -n "$NS_LB" addr add "$LB_ADDR/24" dev "$VETH_LB"
ip -n "$NS_WK" addr add "$WK_ADDR/24" dev "$VETH_WK"
for ns in "$NS_LB" "$NS_WK"; do ip -n "$ns" link set lo up; done
ip -n "$NS_LB" link set "$VETH_LB" up
ip -n "$NS_WK" link set "$VETH_WK" up

"$NODE" "$CLI" keygen --out "$TMP/server.json" >/dev/null
"$NODE" "$CLI" keygen --out "$TMP/worker.json" >/dev/null

# run <label> <worker namespace> <endpoint>: workers first (they wait and retry), then the driver.
run() {
  local label=$1 wk_ns=$2 endpoint=$3
  WORKER_PIDS=()
  for _ in $(seq "$WORKERS"); do
    ip netns exec "$wk_ns" "$NODE" "$CLI" worker "$HANDLER" --connect "$endpoint" --quiet \
      --server-key "$TMP/server.json" --key-file "$TMP/worker.json" --reconnect-max-interval 500 &
    WORKER_PIDS+=($!)
  done
  ip netns exec "$NS_LB" "$NODE" "$DRIVER" --label "$label" --endpoint "$endpoint" \
    --server-key "$TMP/server.json" --worker-key "$TMP/worker.json" \
    --workers "$WORKERS" --noop "$NOOP" --big "$BIG" --size "$SIZE" | tee -a "$TMP/results.jsonl" >&2
  for pid in "${WORKER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${WORKER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  WORKER_PIDS=()
}

for round in $(seq "$ROUNDS"); do
  echo "round $round of $ROUNDS" >&2
  if [ $((round % 2)) = 1 ]; then
    run netns "$NS_WK" "tcp://$LB_ADDR:5555"
    run loopback "$NS_LB" "tcp://127.0.0.1:5556"
  else
    run loopback "$NS_LB" "tcp://127.0.0.1:5556"
    run netns "$NS_WK" "tcp://$LB_ADDR:5555"
  fi
done

"$NODE" - "$TMP/results.jsonl" "$ROUNDS" "$WORKERS" "$SIZE" <<'EOF'
const [file, rounds, workers, size] = process.argv.slice(2);
const rows = require("fs").readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const by = (label, pick) => rows.filter((r) => r.label === label).map(pick);
const fmt = (x, d = 0) => x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const cell = (xs, d) => `${fmt(median(xs), d)} (${fmt(Math.min(...xs), d)}–${fmt(Math.max(...xs), d)})`;
const line = (what, pick, d) => {
  const n = by("netns", pick), l = by("loopback", pick);
  return `| ${what} | ${cell(n, d)} | ${cell(l, d)} | ${fmt((100 * median(n)) / median(l), 0)} % |`;
};
console.log(`\nzerolb, workers: 0 + ${workers} remote \`zerolb worker\`s over CurveZMQ (allow-list), median (min–max) of ${rounds} rounds:\n`);
console.log("| workload | veth between namespaces | loopback | veth / loopback |");
console.log("|---|---|---|---|");
console.log(line(`no-op tasks/s (${fmt(rows[0].noop.tasks)} tasks)`, (r) => r.noop.tasksPerSecond, 0));
console.log(line(`${fmt(size / 1024)} KiB tasks/s (${fmt(rows[0].big.tasks)} tasks, echoed)`, (r) => r.big.tasksPerSecond, 0));
console.log(line(`${fmt(size / 1024)} KiB tasks: MiB/s each way`, (r) => r.big.mibPerSecondEachWay, 0));
EOF
