// TypeScript handler modules (and pipeline modules) load under tsx, an optional peer dependency,
// found from the module's own project first, then from zerolb's. Child processes get it as the
// Node flag `--import tsx`; a process that imports the module itself (`zerolb worker`, `zerolb
// dot`) imports that same entry first, which is what the flag does, so every command loads a .ts
// module the same way. (tsx/esm/api's register() was the other way: from another package's
// directory, Node 20 resolves only its CommonJS build, which in tsx 4.23 fails to register from an
// ES module: "Cannot find module .../dist/esm/api/esm/index.mjs".)
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { StartupError } from "../shared/errors.js";

const TYPESCRIPT = /\.(ts|mts|cts|tsx)$/;

/** Whether the module (a file URL) is TypeScript, by its extension. */
export function isTypeScript(moduleUrl: string): boolean {
  return TYPESCRIPT.test(new URL(moduleUrl).pathname);
}

/** The file of `specifier` (a tsx entry point), resolved from the module's directory, else from zerolb's. */
function resolveTsx(moduleUrl: string, specifier: string): string {
  for (const base of [fileURLToPath(moduleUrl), fileURLToPath(import.meta.url)]) {
    try {
      return createRequire(base).resolve(specifier);
    } catch {
      // try the next place
    }
  }
  throw new StartupError(`handler module ${moduleUrl} is TypeScript: install tsx to run it (npm install --save-dev tsx), or compile it to .js`);
}

/** Node flags for a child process that loads the module: tsx's loader for TypeScript, else none. */
export function loaderFlags(moduleUrl: string): string[] {
  if (!isTypeScript(moduleUrl)) return [];
  return ["--import", pathToFileURL(resolveTsx(moduleUrl, "tsx")).href];
}

let registered = false;

/**
 * Before this process imports the module itself: loads tsx's loader if the module is TypeScript
 * (once per process), as `node --import tsx` would. Throws a StartupError saying what to install
 * when tsx is missing.
 */
export async function registerTypeScript(moduleUrl: string): Promise<void> {
  if (registered || !isTypeScript(moduleUrl)) return;
  await import(pathToFileURL(resolveTsx(moduleUrl, "tsx")).href);
  registered = true;
}
