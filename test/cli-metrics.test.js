// `zerolb map --metrics-port N`: /metrics on 127.0.0.1 while the run goes, in the Prometheus text
// format (parsed back with the parser of metrics-helpers.js); gone when the run ends.
import t from "tap";
import { range, waitFor } from "./helpers.js";
import { HANDLER, jsonl, runCli, startCli } from "./cli-helpers.js";
import { parsePrometheus } from "./metrics-helpers.js";

t.test("--metrics-port 0: prints the port chosen and serves /metrics while the run goes", async (t) => {
  const cli = startCli(t, ["map", HANDLER, "--metrics-port", "0", "--workers", "2", "--quiet"]);
  // Items go in while the test watches: the run lasts until stdin ends.
  cli.child.stdin.write(jsonl(range(10, (i) => ({ value: i }))));
  await cli.waitForStderr(/metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/);
  const url = /metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(cli.stderr())[1];
  await cli.waitForStdout((out) => out.split("\n").filter(Boolean).length === 10, "the first 10 results");
  const response = await fetch(url);
  t.equal(response.status, 200);
  t.match(response.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
  const metrics = parsePrometheus(t, await response.text());
  t.equal(metrics.get("zerolb_tasks_done_total").samples[0].value, 10, "the 10 tasks done so far");
  t.equal(metrics.get("zerolb_tasks_done_total").type, "counter");
  // A series per worker that has joined: the second may join after the first results (ready promises one).
  const workerSeries = async () => parsePrometheus(t, await (await fetch(url)).text()).get("zerolb_worker_tasks_done_total").samples.length;
  t.ok(metrics.get("zerolb_worker_tasks_done_total").samples.length >= 1, "a series for the worker that ran them");
  await waitFor(async () => (await workerSeries()) === 2, { what: "a series for each of the 2 workers" });
  t.pass("a series per worker");
  t.equal(cli.child.exitCode, null, "fetched while the run goes");
  t.equal((await fetch(url.replace("/metrics", "/other"))).status, 404, "only /metrics");
  cli.child.stdin.end(jsonl([10]));
  const { code } = await cli.closed;
  t.equal(code, 0, cli.stderr());
  await t.rejects(fetch(url), "the endpoint is gone with the run");
});

t.test("--metrics-port: a port out of range is a usage error", async (t) => {
  const r = await runCli(t, ["map", HANDLER, "--metrics-port", "70000"], { input: jsonl([1]) });
  t.equal(r.code, 2);
  t.match(r.stderr, /--metrics-port/);
});
