// W1: the trivial handler. Returns its input, so the caller can check every task came back.
// One file for every peer: zerolb calls it as (data, ctx), piscina as (data).
export default function noop(data) {
  return data;
}
