// `zerolb dot <module>`: prints the Graphviz DOT of the Pipeline a module exports.
import { Pipeline } from "../caller/pipeline.js";
import { moduleUrl } from "../shared/module-url.js";
import { registerTypeScript } from "../caller/typescript-loader.js";
import { EXIT, UsageError, type CommandModule } from "./common.js";

export interface DotOptions {
  export?: string;
  name?: string;
}

export const registerDot: CommandModule = (program, run) => {
  program
    .command("dot")
    .summary("print the Graphviz DOT of a pipeline")
    .description(
      "Loads <module> and prints the DOT text of the Pipeline it exports: the export named by --export, " +
        "else `pipeline`, else the default export, else the only Pipeline among its exports.",
    )
    .argument("<module>", "a module exporting a Pipeline, e.g. ./pipeline.js")
    .option("-e, --export <name>", "name of the export holding the Pipeline, e.g. --export crawler")
    .option("-n, --name <graph>", "name of the DOT graph, e.g. --name crawler", "pipeline")
    .addHelpText(
      "after",
      `
Examples:
  $ zerolb dot examples/pipeline/pipeline.js
  $ zerolb dot ./pipelines.js --export crawler | dot -Tpng -o crawler.png
`,
    )
    .action((module: string, options: DotOptions) => run(() => dot(module, options)));
};

export async function dot(module: string, options: DotOptions): Promise<number> {
  const url = moduleUrl(module);
  await registerTypeScript(url); // a .ts pipeline module loads under tsx, as handlers do
  const ns = (await import(url)) as Record<string, unknown>;
  const pipeline = pick(ns, options.export);
  if (!pipeline) {
    const what = options.export ? `no Pipeline exported as "${options.export}"` : "no exported Pipeline (export one as `pipeline` or default)";
    throw new UsageError(`${module} has ${what}`);
  }
  process.stdout.write(pipeline.toDot(options.name ?? "pipeline"));
  return EXIT.ok;
}

function pick(ns: Record<string, unknown>, name: string | undefined): Pipeline | undefined {
  const isPipeline = (value: unknown): value is Pipeline => value instanceof Pipeline || (typeof value === "object" && value !== null && typeof (value as Pipeline).toDot === "function" && Array.isArray((value as Pipeline).jobs));
  if (name !== undefined) return isPipeline(ns[name]) ? ns[name] : undefined;
  for (const key of ["pipeline", "default"]) if (isPipeline(ns[key])) return ns[key];
  const all = Object.values(ns).filter(isPipeline);
  return all.length === 1 ? all[0] : undefined;
}
