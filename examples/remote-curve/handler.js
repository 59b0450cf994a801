// The handler every remote worker loads (on its own machine it would be its own copy).
import { hostname } from "node:os";

export default function handle(n) {
  return { n, squared: n * n, by: `${hostname()}:${process.pid}` };
}
