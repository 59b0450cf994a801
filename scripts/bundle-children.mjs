// Bundles each child process's entry (the broker's and the local worker's) into one file, after
// `tsc` has built dist/. A child then starts by compiling one module instead of resolving, reading
// and linking some forty, and the time from `new LoadBalancer()` to the first result is mostly
// Node's own start. Measured on the 2-core machine of bench/README.md ("Start-up"): a child's
// imports took 64-68 ms as modules, 45-49 ms as a bundle.
//
// zeromq stays outside (it loads its native addon from its own folder); everything else the child
// uses (@msgpack/msgpack, debug) goes in. The bundle is ESM: `require` for the CommonJS packages'
// own require() of Node's modules comes from createRequire. Source maps follow dist/*.js.map back
// to lib/*.ts, so stack traces and profiles still name the TypeScript lines.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../dist/", import.meta.url));

await Promise.all(
  ["broker", "worker"].map((role) =>
    build({
      entryPoints: [`${dist}${role}/main.js`],
      outfile: `${dist}${role}/main.bundle.js`,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      external: ["zeromq"],
      sourcemap: true,
      banner: { js: 'import { createRequire as __zerolbCreateRequire } from "node:module"; const require = __zerolbCreateRequire(import.meta.url);' },
      logLevel: "warning",
    }),
  ),
);
