// Loading the user's handler module and finding its functions (ESM or CommonJS).
import { StartupError } from "../shared/errors.js";

export type Handler = (data: unknown, ctx: unknown) => unknown;

export interface HandlerModule {
  /** Handler for a task's `fn` ("" = the default export), or a string saying why there is none. */
  handler(name: string): Handler | string;
  setup: ((ctx: unknown) => unknown) | undefined;
  teardown: (() => unknown) | undefined;
}

const LIFECYCLE = new Set(["setup", "teardown"]);

export async function loadHandlerModule(url: string): Promise<HandlerModule> {
  let ns: Record<string, unknown>;
  try {
    ns = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw new StartupError(`cannot load handler module ${url}: ${(err as Error).message}`, { cause: err });
  }
  // CommonJS: module.exports is `default`; its properties may not all be detected as named exports.
  const cjs = typeof ns.default === "object" && ns.default !== null ? (ns.default as Record<string, unknown>) : undefined;
  const lookup = (name: string): unknown => ns[name] ?? cjs?.[name];
  const functionNames = new Set<string>();
  for (const source of [ns, cjs ?? {}]) {
    for (const [name, value] of Object.entries(source)) if (typeof value === "function" && !LIFECYCLE.has(name)) functionNames.add(name);
  }
  if (functionNames.size === 0) {
    const what = ns.default === undefined ? "no default export" : `a default export that is a ${typeof ns.default}, not a function`;
    throw new StartupError(`handler module ${url} has ${what} and no other exported function`);
  }
  const fnOrUndefined = (name: string) => {
    const value = lookup(name);
    return typeof value === "function" ? (value as (...args: unknown[]) => unknown) : undefined;
  };
  const cache = new Map<string, Handler | string>();
  return {
    setup: fnOrUndefined("setup"),
    teardown: fnOrUndefined("teardown") as (() => unknown) | undefined,
    handler(name: string): Handler | string {
      let found = cache.get(name);
      if (found === undefined) {
        const value = name === "" ? (typeof ns.default === "function" ? ns.default : cjs?.default) : lookup(name);
        found = typeof value === "function" && !LIFECYCLE.has(name)
          ? (value as Handler)
          : `handler module ${url} has no ${name === "" ? "default export function" : `exported function named "${name}"`} (functions: ${[...functionNames].join(", ")})`;
        cache.set(name, found);
      }
      return found;
    },
  };
}
