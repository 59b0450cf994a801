#!/usr/bin/env python3
"""A zerolb worker in Python, written from docs/protocol.md alone.

    python3 worker.py handlers.py --connect tcp://127.0.0.1:5555 [--concurrency 4]
                      [--server-key Z85|FILE --key-file worker.key.json]

It joins a LoadBalancer's `endpoint`, loads the handler module (a .py file or a module name),
calls `setup(worker_data)` once if the module has one, and answers tasks: the function named by
the task's `fn`, or `handle` for the default. Handlers are called as f(data) or f(data, ctx), in
a thread pool of `--concurrency` threads. SIGTERM/SIGINT: running tasks finish, the rest go back
to the broker (Bye), `teardown()` runs, exit 0.

Needs pyzmq and msgpack (Debian: apt-get install python3-zmq python3-msgpack).
"""
import argparse
import concurrent.futures
import importlib
import importlib.util
import inspect
import json
import os
import queue
import signal
import sys
import threading
import time
import traceback

import msgpack
import zmq

VERSION = 1
HELLO, READY, WORKER_RESULTS, BYE = 1, 2, 3, 4
WELCOME, TASKS, CANCEL, RESET = 10, 11, 12, 13
OK, ERROR, TIMEOUT, CANCELLED = 0, 1, 2, 5
HELLO_RETRY_S = 3.0
BYE_WAIT_S = 2.0


def log(message):
    print(f"python worker: {message}", file=sys.stderr, flush=True)


def pack(value):
    return msgpack.packb(value, use_bin_type=True, datetime=True)


ZEROLB_EXTENSION = 0  # zerolb's MessagePack extension type (docs/protocol.md, "Values")
JSON_TEXT = 0x4A  # its payload kind "J": the UTF-8 text of a JSON value (zerolb map's input lines)


class JsonLinesError(ValueError):
    """A JSON text value that is not JSON: its task fails with this name, as zerolb's own workers do."""


def extension(code, data):
    if code == ZEROLB_EXTENSION and data[:1] == bytes([JSON_TEXT]):
        try:
            return json.loads(data[1:].decode("utf-8"))
        except ValueError as exc:
            raise JsonLinesError(f"not valid JSON: {exc}") from exc
    return msgpack.ExtType(code, data)


def unpack(data):
    return msgpack.unpackb(data, raw=False, timestamp=3, strict_map_key=False, ext_hook=extension)


def error_value(exc, name=None):
    return {
        "name": name or type(exc).__name__,
        "message": str(exc),
        "stack": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }


def column(header, key, i, default):
    """Entry i of a column: an array, a scalar standing for every entry, or absent."""
    col = header.get(key, default)
    if isinstance(col, list):
        if len(col) != len(header["seq"]):
            raise ValueError(f"column {key} has the wrong length")
        return col[i]
    return col


def body_values(header, body):
    """Checks seq and len against the body and yields each value's bytes."""
    seq, lens = header.get("seq"), header.get("len")
    if not isinstance(seq, list) or not all(isinstance(s, int) and s >= 0 for s in seq):
        raise ValueError("seq is not an array of non-negative integers")
    if not isinstance(lens, list) or len(lens) != len(seq) or not all(isinstance(n, int) and n >= 0 for n in lens):
        raise ValueError("len does not match seq")
    if sum(lens) != len(body or b""):
        raise ValueError("body size does not match len")
    offset, out = 0, []
    for n in lens:
        out.append(body[offset:offset + n])
        offset += n
    return out


class Context:
    """The `ctx` a handler may take: id, attempt, worker_data, and `cancelled` (a threading.Event)."""

    def __init__(self, task_id, attempt, worker_data):
        self.id = task_id
        self.attempt = attempt
        self.worker_data = worker_data
        self.cancelled = threading.Event()


class Held:
    def __init__(self, seq, fn, ctx, payload, timeout_ms):
        self.seq, self.fn, self.ctx, self.payload = seq, fn, ctx, payload
        self.deadline = time.monotonic() + timeout_ms / 1000 if timeout_ms > 0 else None
        self.started = False
        self.finished = False
        self.future = None


def load_module(spec):
    if spec.endswith(".py") or os.path.sep in spec:
        path = os.path.abspath(spec)
        module_spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
        module = importlib.util.module_from_spec(module_spec)
        sys.path.insert(0, os.path.dirname(path))
        module_spec.loader.exec_module(module)
        return module
    return importlib.import_module(spec)


def read_key_file(path):
    with open(path, encoding="utf8") as f:
        return json.load(f)


class Worker:
    def __init__(self, args):
        self.module = load_module(args.module)
        self.concurrency = args.concurrency
        self.window = args.concurrency + 1
        self.context = zmq.Context.instance()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.ROUTING_ID, f"py{os.getpid()}-{os.urandom(4).hex()}".encode())
        self.socket.setsockopt(zmq.HEARTBEAT_IVL, 1000)
        self.socket.setsockopt(zmq.HEARTBEAT_TIMEOUT, 3000)
        self.socket.setsockopt(zmq.HEARTBEAT_TTL, 3000)
        self.socket.setsockopt(zmq.RECONNECT_IVL, 100)
        self.socket.setsockopt(zmq.RECONNECT_IVL_MAX, 5000)
        if args.server_key:
            server_key = args.server_key
            if len(server_key) != 40 and os.path.exists(server_key):
                server_key = read_key_file(server_key)["publicKey"]
            pair = read_key_file(args.key_file) if args.key_file else None
            if pair is None:
                public, secret = zmq.curve_keypair()
                pair = {"publicKey": public.decode(), "secretKey": secret.decode()}
            self.socket.curve_serverkey = server_key.encode()
            self.socket.curve_publickey = pair["publicKey"].encode()
            self.socket.curve_secretkey = pair["secretKey"].encode()
        self.endpoint = args.connect
        # Finished tasks come back from the pool through this queue; a byte on an inproc pair
        # wakes the socket loop.
        self.done = queue.Queue()
        self.wake_addr = f"inproc://wake-{id(self)}"
        self.wake_pull = self.context.socket(zmq.PULL)
        self.wake_pull.bind(self.wake_addr)
        self.wake_lock = threading.Lock()
        self.wake_push = self.context.socket(zmq.PUSH)
        self.wake_push.connect(self.wake_addr)
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.concurrency)
        self.held = {}
        self.worker_data = None
        self.setup_done = False
        self.welcomed = False
        self.ready = False
        self.hello_at = 0.0
        self.stopping = False
        self.malformed = 0

    # --- sending -------------------------------------------------------------------------------

    def send(self, fields, body=None):
        header = pack({"v": VERSION, **fields})
        self.socket.send_multipart([header] if body is None else [header, body])

    def hello(self):
        self.welcomed = False
        self.hello_at = time.monotonic()
        self.send({"k": HELLO, "pid": os.getpid(), "concurrency": self.concurrency, "name": "python"})

    def send_results(self, results):
        """results: list of (seq, status, value); grants one credit per result unless leaving."""
        seqs, statuses, payloads = [], [], []
        for seq, status, value in results:
            try:
                payload = pack(value)
            except Exception as exc:  # the value cannot be sent: that task fails alone
                status = ERROR
                payload = pack(error_value(TypeError(f"the result of task {seq} cannot be encoded: {exc}")))
            seqs.append(seq)
            statuses.append(status)
            payloads.append(payload)
        fields = {"k": WORKER_RESULTS, "seq": seqs, "st": statuses, "len": [len(p) for p in payloads]}
        if self.ready and not self.stopping:
            fields["credit"] = len(results)
        self.send(fields, b"".join(payloads))

    # --- tasks ---------------------------------------------------------------------------------

    def run(self, task):
        """In a pool thread."""
        if task.finished:
            return
        task.started = True
        try:
            handler = getattr(self.module, task.fn or "handle", None)
            if not callable(handler) or task.fn in ("setup", "teardown"):
                raise TypeError(f"the handler module has no function named {task.fn or 'handle'!r}")
            data = unpack(task.payload)
            params = len(inspect.signature(handler).parameters)
            result = (OK, handler(data, task.ctx) if params >= 2 else handler(data))
        except Exception as exc:
            result = (ERROR, error_value(exc))
        self.done.put((task, result))
        with self.wake_lock:
            self.wake_push.send(b"")

    def finish(self, task, status, value, out):
        if task.finished:
            return
        task.finished = True
        self.held.pop(task.seq, None)
        out.append((task.seq, status, value))

    def on_tasks(self, header, body):
        values = body_values(header, body)
        if self.stopping or not self.ready:
            return  # after Bye (or before Ready) the broker takes these back
        for i, seq in enumerate(header["seq"]):
            fn = column(header, "fn", i, "")
            attempt = column(header, "att", i, 1)
            timeout = column(header, "to", i, 0)
            task_id = column(header, "id", i, "") or str(seq)
            if not isinstance(fn, str) or not isinstance(task_id, str) or not isinstance(attempt, int) or not isinstance(timeout, (int, float)):
                raise ValueError("a Tasks column has the wrong type")
            task = Held(seq, fn, Context(task_id, attempt, self.worker_data), values[i], timeout)
            self.held[seq] = task
            task.future = self.pool.submit(self.run, task)

    def on_cancel(self, header, out):
        seqs = header.get("seq")
        if not isinstance(seqs, list):
            raise ValueError("seq is not an array")
        for seq in seqs:
            task = self.held.get(seq)
            if task is None:
                continue
            task.ctx.cancelled.set()
            if not task.started and task.future.cancel():
                self.finish(task, CANCELLED, {"name": "CancelledError", "message": f"task {task.ctx.id} was cancelled"}, out)

    def drop_held(self):
        for task in self.held.values():
            task.finished = True
            task.ctx.cancelled.set()
            if task.future is not None:
                task.future.cancel()
        self.held.clear()

    def on_welcome(self, header, body):
        if self.welcomed or self.stopping:
            return  # answers a repeated Hello
        self.welcomed = True
        if not self.setup_done:
            self.worker_data = unpack(body) if body else None
            setup = getattr(self.module, "setup", None)
            if callable(setup):
                setup(self.worker_data)
            self.setup_done = True
        self.ready = True
        self.send({"k": READY, "credit": self.window})
        log(f"joined {self.endpoint} (session {header.get('session')}, pid {os.getpid()}, concurrency {self.concurrency})")

    def on_reset(self):
        if not self.welcomed:
            return  # a Hello is on its way
        log(f"reset by the broker; dropping {len(self.held)} task(s) and saying Hello again")
        self.drop_held()
        self.ready = False
        self.hello()

    # --- the loop ------------------------------------------------------------------------------

    def handle_message(self, frames, out):
        header_frame, body = frames[0], (frames[1] if len(frames) > 1 else None)
        if len(frames) > 2:
            raise ValueError("too many frames")
        header = unpack(header_frame)
        if not isinstance(header, dict) or header.get("v") != VERSION:
            raise ValueError("not a version 1 header")
        kind = header.get("k")
        if kind == WELCOME:
            self.on_welcome(header, body)
        elif kind == TASKS:
            self.on_tasks(header, body)
        elif kind == CANCEL:
            self.on_cancel(header, out)
        elif kind == RESET:
            if self.stopping:
                return "bye-acknowledged"
            self.on_reset()
        else:
            raise ValueError(f"kind {kind} is not for a worker")
        return None

    def collect_done(self, out):
        while True:
            try:
                task, (status, value) = self.done.get_nowait()
            except queue.Empty:
                return
            self.finish(task, status, value, out)

    def check_timeouts(self, out):
        now = time.monotonic()
        for task in list(self.held.values()):
            if task.deadline is not None and now > task.deadline:
                task.ctx.cancelled.set()
                self.finish(task, TIMEOUT, {"name": "TimeoutError", "message": f"task {task.ctx.id} timed out"}, out)

    def step(self, timeout_ms):
        """Waits for a message or a finished task, handles them; returns "bye-acknowledged" or None."""
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        poller.register(self.wake_pull, zmq.POLLIN)
        events = dict(poller.poll(timeout_ms))
        out, verdict = [], None
        if self.wake_pull in events:
            while self.wake_pull.poll(0):
                self.wake_pull.recv()
        self.collect_done(out)
        while self.socket.poll(0):
            frames = self.socket.recv_multipart()
            try:
                verdict = self.handle_message(frames, out) or verdict
            except Exception as exc:  # malformed: drop it and count it
                self.malformed += 1
                log(f"dropped a malformed message: {exc}")
        self.check_timeouts(out)
        if out:
            self.send_results(out)
        if not self.welcomed and not self.stopping and time.monotonic() - self.hello_at > HELLO_RETRY_S:
            self.hello()
        return verdict

    def serve(self):
        self.socket.connect(self.endpoint)
        log(f"connecting to {self.endpoint}")
        self.hello()
        while not self.stopping:
            self.step(100)
        # Leaving: tasks not started go back; running ones finish and are answered.
        handed_back = []
        for task in list(self.held.values()):
            if not task.started and task.future.cancel():
                task.finished = True
                self.held.pop(task.seq, None)
                handed_back.append(task.seq)
        log(f"stopping: {len(self.held)} running task(s) finish, {len(handed_back)} go back to the broker")
        while self.held:
            self.step(100)
        if self.ready:
            self.send({"k": BYE, "seq": handed_back})
            deadline = time.monotonic() + BYE_WAIT_S
            while time.monotonic() < deadline:
                if self.step(100) == "bye-acknowledged":
                    break
        teardown = getattr(self.module, "teardown", None)
        if callable(teardown):
            teardown()
        self.pool.shutdown(wait=False)
        self.socket.close(0)
        self.wake_push.close(0)
        self.wake_pull.close(0)
        log(f"left {self.endpoint}")


def main():
    parser = argparse.ArgumentParser(description="A zerolb worker in Python (see docs/protocol.md).")
    parser.add_argument("module", help="handler module: a .py file or an importable module name")
    parser.add_argument("--connect", required=True, help="the LoadBalancer's endpoint, e.g. tcp://127.0.0.1:5555")
    parser.add_argument("--concurrency", type=int, default=1, help="tasks run at once (threads)")
    parser.add_argument("--server-key", help="the broker's Curve public key (Z85) or a JSON key file holding publicKey")
    parser.add_argument("--key-file", help="this worker's Curve key pair, JSON from `zerolb keygen --out`")
    args = parser.parse_args()
    if args.concurrency < 1:
        parser.error("--concurrency must be >= 1")
    worker = Worker(args)

    def stop(signum, _frame):
        if worker.stopping:
            os._exit(128 + signum)
        worker.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    worker.serve()


if __name__ == "__main__":
    main()
