// Bundles each process's entry into one file, after `tsc` has built dist/: the broker's and the
// local worker's (dist/broker/main.bundle.js, dist/worker/main.bundle.js) and the command line's
// (dist/cli/main.bundle.js, which the `zerolb` bin runs). A process then starts by compiling one
// module instead of resolving, reading and linking some forty to sixty. Measured on the 2-core
// machine of bench/README.md ("Start-up"): a child's imports took 64-68 ms as modules, 45-49 ms as
// a bundle; `zerolb --help` 240 ms as modules, 170 ms as a bundle.
//
// Each bundle sits where its entry is, one folder below dist/, so that what its code finds
// relative to its own file (import.meta.url: the children's entries, package.json) is found the
// same way from the bundle. The library itself (dist/index.js) is not bundled: a program that
// imports zerolb gets its modules, once.
//
// zeromq stays outside (it loads its native addon from its own folder); everything else the child
// uses (@msgpack/msgpack, debug, commander) goes in. The bundle is ESM: `require` for the CommonJS
// packages' own require() of Node's modules comes from createRequire. Source maps follow
// dist/*.js.map back to lib/*.ts, so stack traces and profiles still name the TypeScript lines.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../dist/", import.meta.url));

await Promise.all(
  ["broker", "worker", "cli"].map((folder) =>
    build({
      entryPoints: [`${dist}${folder}/main.js`],
      outfile: `${dist}${folder}/main.bundle.js`,
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
