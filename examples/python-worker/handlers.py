"""Handlers for the Python worker: `handle` is the default, the others are chosen with `fn`."""
import os
import time

worker_data = None


def setup(data):
    """Runs once per worker process, with the LoadBalancer's workerData."""
    global worker_data
    worker_data = data


def double(x):
    return x * 2


def handle(x):
    return double(x)


def describe(data, ctx):
    """Shows what a handler sees: its context and the workerData."""
    return {"data": data, "id": ctx.id, "attempt": ctx.attempt, "workerData": worker_data, "pid": os.getpid()}


def sleep(ms):
    time.sleep(ms / 1000)
    return ms


def fail(message):
    raise ValueError(message)
