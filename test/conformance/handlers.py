# The conformance suite's handlers for examples/python-worker/worker.py (handlers.js is the same
# for `zerolb worker`): what each does is what test/conformance/suite.js expects of it.
import sys
import time

setup_calls = 0
worker_data = None


def setup(data):
    global setup_calls, worker_data
    setup_calls += 1
    worker_data = data
    if isinstance(data, dict) and data.get("setupThrows"):
        raise RuntimeError("setup failed on purpose")


def handle(data):
    return data


def sleep(data):
    print(f"conformance: sleeping {data['ms']} ms", file=sys.stderr, flush=True)
    time.sleep(data["ms"] / 1000)
    return data["ms"]


def wait(data, ctx):
    return "cancelled" if ctx.cancelled.wait(30) else "not cancelled"


def fail(data):
    raise ValueError("boom")


def unencodable(data):
    return {"f": object()}


def getWorkerData(data):
    return worker_data


def setupCount(data):
    return setup_calls
