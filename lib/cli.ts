#!/usr/bin/env node
// The `zerolb` bin. It only picks what to run: the command line from its one-file bundle
// (dist/cli/main.bundle.js, made by scripts/bundle.mjs), or from dist/cli/main.js where the build made
// none. The bundle starts faster: one module to compile instead of some sixty to resolve, read and
// link (`zerolb --help` in 240 ms as modules, 160 ms as a bundle, Node's own start being 90 ms), and
// every `zerolb map` run pays that before its first task.
import { existsSync } from "node:fs";

const bundle = new URL("./cli/main.bundle.js", import.meta.url);
await import(existsSync(bundle) ? bundle.href : new URL("./cli/main.js", import.meta.url).href);
