// A handler module typed with zerolb's handler types, as an author would write one: the type
// tests read its type with `typeof import("./handler.js")`.
import type { Handler, HandlerContext, Setup, Teardown, TaskContext } from "zerolb";

interface WorkerData {
  model: string;
}

let model = "";

export const setup: Setup<WorkerData> = async ({ workerData }) => {
  model = workerData.model;
};

export const teardown: Teardown = () => {
  model = "";
};

/** The default export: async, takes a string. */
export default async function fetchTitle(url: string, ctx: HandlerContext<WorkerData>): Promise<{ url: string; attempt: number; model: string }> {
  ctx.signal.throwIfAborted();
  return { url, attempt: ctx.attempt, model: ctx.workerData.model + model };
}

/** A sync named handler. */
export function double(n: number): number {
  return n * 2;
}

/** Typed with Handler: its input and output come from the type arguments. */
export const score: Handler<{ text: string }, number, WorkerData> = async ({ text }, ctx) => text.length * ctx.attempt;

/** A handler written with the old name of the ctx type. */
export function shout(text: string, ctx: TaskContext): string {
  return `${text.toUpperCase()} (${ctx.id})`;
}

/** Takes nothing: any item will do. */
export function now(): number {
  return Date.now();
}

/** Not a function: no `fn` can name it. */
export const VERSION = "1";

/** A pipeline job after the default export: takes (part of) its result. */
export function title(page: { url: string; model: string }): string {
  return `${page.model}: ${page.url}`;
}

/** A pipeline job after two jobs: takes their results keyed by job name. */
export function report(parts: { title: string; loud: string }): { length: number } {
  return { length: parts.title.length + parts.loud.length };
}
