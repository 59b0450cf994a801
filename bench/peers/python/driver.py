"""Driver of the python bench peer (../python.js): multiprocessing.Pool(workers).imap(fn, items,
chunksize=1) fed from stdin, results written to stdout.

    python3 driver.py <handler file name, e.g. noop.js> <workers>

Framing, both directions, standard library only: records of [type: 1 byte][length: u32 LE][payload].
    q  int64 LE          d  float64 LE         b  raw bytes         s  UTF-8 text
    n  None (empty)      E  end of a stream (empty)
Node -> driver, between streams:
    S  a stream follows (payload: 1 byte, 1 = ordered -> imap, 0 = unordered -> imap_unordered);
       then item records until E
    Q  quit (close the pool, wait for its processes, exit)
Driver -> Node:
    P  once, at start: JSON [driver pid, pool worker pids...]
    result records of a stream, then E
    X  the stream failed (payload: the error text), instead of E
Results are buffered and flushed every 64 KiB and at the end of each stream. Items flow lazily:
the pool's task thread pulls them from stdin only as fast as its task pipe to the workers drains.
"""
import json
import multiprocessing
import os
import struct
import sys
import threading

from handlers import HANDLERS

HDR = struct.Struct("<cI")
REC_Q = struct.Struct("<cIq")
REC_D = struct.Struct("<cId")
INT64 = struct.Struct("<q")
F64 = struct.Struct("<d")
FLUSH_AT = 65536


def main():
    handler, workers = sys.argv[1], int(sys.argv[2])
    fn = HANDLERS[handler]
    read = sys.stdin.buffer.read
    out = sys.stdout.buffer

    def record():
        hdr = read(5)
        if len(hdr) < 5:
            return None, None  # EOF: the caller is gone
        t, n = HDR.unpack(hdr)
        payload = read(n) if n else b""
        if len(payload) < n:
            return None, None
        return t, payload

    drained = threading.Event()  # set once items() has read its stream's E (or failed)

    def items():
        try:
            yield from _items()
        finally:
            drained.set()

    def _items():
        while True:
            t, p = record()
            if t == b"q":
                yield INT64.unpack(p)[0]
            elif t == b"b":
                yield p
            elif t == b"d":
                yield F64.unpack(p)[0]
            elif t == b"s":
                yield p.decode()
            elif t == b"n":
                yield None
            elif t == b"E":
                return
            else:
                raise EOFError(f"unexpected record {t!r} in a stream")

    def encode(r, buf):
        if type(r) is int and -(1 << 63) <= r < (1 << 63):
            buf += REC_Q.pack(b"q", 8, r)
        elif isinstance(r, (bytes, bytearray, memoryview)):
            buf += HDR.pack(b"b", len(r))
            buf += r
        elif isinstance(r, (int, float)):
            buf += REC_D.pack(b"d", 8, float(r))
        elif r is None:
            buf += HDR.pack(b"n", 0)
        else:
            s = str(r).encode()
            buf += HDR.pack(b"s", len(s))
            buf += s

    pool = multiprocessing.Pool(workers)
    pids = [os.getpid()] + [p.pid for p in pool._pool]
    hello = json.dumps(pids).encode()
    out.write(HDR.pack(b"P", len(hello)) + hello)
    out.flush()

    try:
        while True:
            t, p = record()
            if t == b"S":
                imap = pool.imap if p == b"\x01" else pool.imap_unordered
                buf = bytearray()
                drained.clear()
                try:
                    for r in imap(fn, items(), chunksize=1):
                        encode(r, buf)
                        if len(buf) >= FLUSH_AT:
                            out.write(buf)
                            out.flush()
                            buf = bytearray()
                except Exception as e:  # a handler or the input failed: report and end the stream
                    msg = repr(e).encode()
                    out.write(buf + HDR.pack(b"X", len(msg)) + msg)
                    out.flush()
                    # The pool's task thread may still be reading this stream's items from stdin
                    # (the caller stops and sends E on X); wait until it has, so reads never mix.
                    drained.wait()
                    continue
                buf += HDR.pack(b"E", 0)
                out.write(buf)
                out.flush()
            elif t == b"Q":
                pool.close()
                pool.join()
                return
            else:  # EOF or garbage: the caller is gone
                pool.terminate()
                pool.join()
                return
    except BrokenPipeError:
        pool.terminate()
        pool.join()


if __name__ == "__main__":
    main()
