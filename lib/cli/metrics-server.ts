// `zerolb map --metrics-port N`: serves lb.metrics() at http://127.0.0.1:N/metrics while the run
// goes, for Prometheus to scrape. Loopback only: the counts are for this machine's scraper (or an
// SSH tunnel), and nothing of zerolb listens on other addresses in plain text.
import { createServer, type Server } from "node:http";
import { METRICS_CONTENT_TYPE } from "../caller/metrics.js";
import { UsageError } from "./common.js";

export interface MetricsServer {
  /** The port listened on (the one chosen by the system for port 0). */
  port: number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port`; GET /metrics answers `metrics()`, anything else 404. */
export async function serveMetrics(port: number, metrics: () => string): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: the metrics are at /metrics\n");
      return;
    }
    let body: string;
    try {
      body = metrics();
    } catch (err) {
      res.writeHead(503, { "content-type": "text/plain" }).end(`${(err as Error).message}\n`);
      return;
    }
    res.writeHead(200, { "content-type": METRICS_CONTENT_TYPE }).end(req.method === "HEAD" ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(new UsageError(`--metrics-port ${port}: cannot listen on 127.0.0.1:${port} (${err.code ?? err.message})`)),
    );
    server.listen(port, "127.0.0.1", () => resolve());
  });
  server.unref();
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
