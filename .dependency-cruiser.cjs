// The boundaries of lib/ (docs/architecture.md): caller, broker and worker are three processes
// that never import each other; they meet in wire/ (the protocol and what travels on it) and
// shared/ (what every process needs). The CLI runs a caller or a worker, never a broker in its
// own process. `npm test` runs this check before the tests (npm run check:boundaries).
/** @type {import('dependency-cruiser').IConfiguration} */
const process = (name) => `^lib/${name}/`;
module.exports = {
  forbidden: [
    { name: "caller-is-not-broker-or-worker", severity: "error", comment: "the caller talks to the broker and workers over wire/, it never loads their code",
      from: { path: process("caller") }, to: { path: ["^lib/(broker|worker|cli)/", "^lib/cli\\.ts$"] } },
    { name: "broker-is-not-caller-or-worker", severity: "error", comment: "the broker process loads only broker/, wire/ and shared/",
      from: { path: process("broker") }, to: { path: ["^lib/(caller|worker|cli)/", "^lib/cli\\.ts$", "^lib/index\\.ts$"] } },
    { name: "worker-is-not-caller-or-broker", severity: "error", comment: "a worker process loads only worker/, wire/ and shared/",
      from: { path: process("worker") }, to: { path: ["^lib/(caller|broker|cli)/", "^lib/cli\\.ts$", "^lib/index\\.ts$"] } },
    { name: "wire-stands-alone", severity: "error", comment: "wire/ is what all three share: it depends on none of them",
      from: { path: process("wire") }, to: { path: ["^lib/(caller|broker|worker|cli)/", "^lib/(cli|index)\\.ts$"] } },
    { name: "shared-stands-alone", severity: "error", comment: "shared/ is below everything, wire/ included",
      from: { path: process("shared") }, to: { path: ["^lib/(caller|broker|worker|cli|wire)/", "^lib/(cli|index)\\.ts$"] } },
    { name: "cli-runs-no-broker", severity: "error", comment: "the CLI runs a caller (map) or a worker (worker); the broker is always a child process",
      from: { path: ["^lib/cli/", "^lib/cli\\.ts$"] }, to: { path: process("broker") } },
    { name: "index-is-the-caller", severity: "error", comment: "lib/index.ts is what a caller imports: it loads no worker or broker code (handler authors' types live in shared/)",
      from: { path: "^lib/index\\.ts$" }, to: { path: ["^lib/(broker|worker|cli)/", "^lib/cli\\.ts$"] } },
    { name: "no-circular", severity: "error", comment: "a file may not reach itself through its imports",
      from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    includeOnly: "^lib/",
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
  },
};
