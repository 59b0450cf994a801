// CPU-bound: spins for 1 ms of wall time, then returns its input. The caller checks the sum.
export default function busy1ms(data) {
  const end = performance.now() + 1;
  while (performance.now() < end);
  return data;
}
