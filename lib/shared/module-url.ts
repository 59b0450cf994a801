// Where a handler module is, as the file URL every process loads it by.
import { pathToFileURL } from "node:url";

/** An absolute file URL for a module given as a path (relative to `base`) or a URL. */
export function moduleUrl(spec: string | URL, base = process.cwd()): string {
  if (spec instanceof URL) return spec.href;
  if (/^file:/.test(spec)) return spec;
  return pathToFileURL(spec.startsWith("/") ? spec : `${base}/${spec}`).href;
}
