// The handler module: its default export runs in the worker processes, once per item.
export default function double(n) {
  return n * 2;
}
