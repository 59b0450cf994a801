#!/usr/bin/env bash
# A JSON Lines file through the zerolb CLI. Run from anywhere: bash examples/jsonl-etl/run.sh
set -u
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here" # so that messages name ./orders.jsonl
zerolb=(node ../../dist/cli.js) # once installed: zerolb
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

echo "== strict: the first bad record stops the run (exit 1) and is named by file and line"
"${zerolb[@]}" map ./clean.js orders.jsonl --workers 2 > "$out/strict.jsonl"
echo "exit code: $?, results written before it: $(wc -l < "$out/strict.jsonl")"

echo
echo "== --settled: one row per record, failures included, exit 0"
"${zerolb[@]}" map ./clean.js orders.jsonl --workers 2 --settled > "$out/settled.jsonl"
echo "exit code: $?"
cat "$out/settled.jsonl"
echo "ok: $(grep -c '"ok":true' "$out/settled.jsonl"), failed: $(grep -c '"ok":false' "$out/settled.jsonl")"

echo
echo "== --fn totals --unordered, from stdin"
"${zerolb[@]}" map ./clean.js --fn totals --unordered --settled --quiet < orders.jsonl | grep '"ok":true'
