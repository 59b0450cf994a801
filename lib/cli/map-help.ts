// The text after the options in `zerolb map --help`: formats, exit codes, remote workers, examples.
export const MAP_HELP_AFTER = `
Input and output:
  Each non-blank input line is one JSON value, handed to the handler as is. Blank lines are
  skipped. Each result is written as one JSON line on stdout, in input order unless --unordered.
  Values JSON cannot carry are written as: bigint -> decimal string ("12345678901234567890"),
  Uint8Array/Buffer, ArrayBuffer, DataView -> base64 string ("AQID"), other typed arrays -> array
  of numbers, Error -> {"name","message","code",...its fields}, Date -> ISO 8601 string,
  undefined/NaN -> null.

  With --settled every line gives one row, and a failure does not stop the run:
    {"index":0,"ok":true,"value":2}
    {"index":1,"ok":false,"error":{"name":"RangeError","message":"boom","code":"E_BOOM"}}
  "index" is the 0-based position of the record among all non-blank input lines. A line that is
  not JSON becomes a failed row (name "JsonLinesError", code "ERR_ZEROLB_JSONL").

Failures file (--failed FILE):
  Each item that fails is written to FILE as one JSON line, and the run goes on:
    {"index":7,"input":{"id":7},"error":{"name":"RangeError","message":"boom","code":"E_BOOM"},"attempts":1}
  "input" is the line's value as read (null for a line that is not JSON); "attempts" counts the
  runs the item had. Feed FILE's inputs to a new run once the cause is fixed:
    $ jq -c .input failed.jsonl | zerolb map ./handler.js --output retried.jsonl

Resuming (--output FILE --resume):
  With --output, results go to FILE and a journal FILE.zerolb-journal records, after each batch of
  lines, FILE's length and which input records the batch finished. A run stopped at any point
  (Ctrl-C, kill -9, a crash) is continued by the same command with --resume: FILE (and --failed)
  are cut back to the last batch the journal vouches for, a torn last line included, and the
  records already done are skipped, so each result is in FILE exactly once, ordered or not. The
  journal is removed when a run finishes. The input must be the same as in the first run.

Exit codes:
  0    every task succeeded (--settled: the run completed, whatever the rows say)
  1    a task failed or a line is not JSON (the message names the file and line; results of the
       lines before it are written), or the run failed (handler module failed to start, ...)
  2    usage error: unknown option, bad value, missing file or module
  3    with --failed: the run completed and some items failed (written to the --failed file)
  130  interrupted by Ctrl-C (SIGINT): it stopped reading, let running tasks finish for
       --grace ms, wrote their results (only complete lines) and stopped every process
       (a second Ctrl-C stops at once); 143 for SIGTERM

Remote workers:
  --endpoint also lets workers on other machines join: zerolb worker <module> --connect <endpoint>.
  Once bound, the endpoint (its port resolved) is printed on stderr. A non-loopback endpoint needs
  --curve-key-file (the broker's key pair, from \`zerolb keygen --out broker.key.json\`; workers pass
  it as --server-key) and, to admit only your workers, --allow with their public keys; or
  --insecure to accept plain-text workers anyway.
    $ zerolb map ./model.js data.jsonl --endpoint tcp://0.0.0.0:5555 --curve-key-file broker.key.json --allow worker.key.json

Examples:
  $ zerolb map ./double.js numbers.jsonl > doubled.jsonl
  $ cat records.jsonl | zerolb map ./model.js --fn score --workers 4 > scores.jsonl
  $ zerolb map ./fetch.js urls.jsonl --concurrency 16 --unordered --timeout 5000 --settled
  $ zerolb map ./model.js a.jsonl b.jsonl --worker-data '{"model":"small"}' --progress 2> progress.log
  $ zerolb map ./model.js big.jsonl --output scores.jsonl --failed failed.jsonl --metrics-port 9464
  $ zerolb map ./model.js big.jsonl --output scores.jsonl --failed failed.jsonl --resume   # after a crash
  $ DEBUG=zerolb:* zerolb map ./handler.js data.jsonl     # logs of caller, broker and workers
`;
