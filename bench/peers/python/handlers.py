"""The Python equivalents of ../../handlers/*.js, keyed by the JS handler's file name.

Each one takes one item (int, float, bytes, ...) and returns it, like its JS counterpart.
Module-level functions, so that multiprocessing can pickle them by name.
"""
import time


def noop(data):
    return data


def sleep10(data):
    # One task at a time per pool process: a blocking sleep is the equivalent of `await sleep(10)`.
    time.sleep(0.01)
    return data


def echo(data):
    return data


def busy1ms(data):
    end = time.perf_counter() + 0.001
    while time.perf_counter() < end:
        pass
    return data


HANDLERS = {
    "noop.js": noop,
    "sleep10.js": sleep10,
    "echo.js": echo,
    "busy1ms.js": busy1ms,
}
