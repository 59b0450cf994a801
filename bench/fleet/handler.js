// bench/fleet.sh's task: { i, ms } sleeps ms (× ZEROLB_BENCH_SLOW on a slowed worker) and returns i.
const slow = Number(process.env.ZEROLB_BENCH_SLOW ?? 1);

export default function task({ i, ms }) {
  return new Promise((resolve) => setTimeout(() => resolve(i), ms * slow));
}
