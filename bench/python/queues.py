#!/usr/bin/env python3
"""Measure Python's multiprocessing.Queue and Pipe the way cmd/mpbench measures multiproc's.

Every figure is between processes of the fork start method: a producer process and the
measuring process, or two producers and two consumers. Prints one JSON object on stdout, in
the form pools.py prints (its numbers go in the "pool" column: multiprocessing's); progress
goes to stderr. The metric names and units must match cmd/mpbench/queues.go.

Usage: python3 queues.py [--reps N] [--quick] [--only REGEX]
"""

import argparse
import json
import multiprocessing as mp
import platform
import re
import sys
import time

MIB = 1 << 20
ctx = mp.get_context("fork")


def log(*args):
    print("queues.py:", *args, file=sys.stderr, flush=True)


class Sizes:
    def __init__(self, quick):
        self.items = 20_000 if quick else 300_000  # small items per throughput rep
        self.round_trips = 500 if quick else 10_000
        self.blobs, self.blob_size = (4, 1 * MIB) if quick else (32, 8 * MIB)


def started(gate):
    """In a child: says it is up, then waits for the timer to start."""
    gate[0].set()
    gate[1].wait()


def new_gate():
    return (ctx.Event(), ctx.Event())


def open_gate(gate):
    """In the parent: waits for the child to be up; the caller starts its timer, then go."""
    gate[0].wait()


def produce(q, n, gate=None):
    if gate is not None:
        started(gate)
    for i in range(n):
        q.put(i)


def consume(q, done):
    n = 0
    while q.get() is not None:
        n += 1
    done.put(n)


def echo(inq, outq):
    while True:
        v = inq.get()
        if v is None:
            return
        outq.put(v)


def send(conn, n, gate):
    started(gate)
    for i in range(n):
        conn.send(i)
    conn.close()


def put_blobs(q, n, size, gate):
    b = bytes(size)
    started(gate)
    for _ in range(n):
        q.put(b)


def send_blobs(conn, n, size, gate):
    b = bytes(size)
    started(gate)
    for _ in range(n):
        conn.send(b)


def timed(setup, reps):
    """Runs setup() reps times: it starts the processes and returns a function that does
    the timed part and one that cleans up. The gate holds a producing child until the
    timer starts; setups that start their processes inside the timed part open it at once."""
    samples = []
    for _ in range(reps):
        gate = new_gate()
        run, done = setup(gate)
        open_gate(gate)
        t0 = time.perf_counter()
        gate[1].set()
        run()
        samples.append(time.perf_counter() - t0)
        done()
    return samples


def one_to_one(sz, reps):
    n = sz.items

    def setup(gate):
        q = ctx.Queue()
        p = ctx.Process(target=produce, args=(q, n, gate))
        p.start()

        def run():
            for _ in range(n):
                q.get()
        return run, p.join
    return {"samples": [n / s for s in timed(setup, reps)], "tasks": n,
            "note": "multiprocessing.Queue(), the producer in a forked process"}


def two_by_two(sz, reps):
    n = sz.items

    def setup(gate):
        gate[0].set()
        q, done = ctx.Queue(), ctx.Queue()
        consumers = [ctx.Process(target=consume, args=(q, done)) for _ in range(2)]
        for c in consumers:
            c.start()

        def run():
            producers = [ctx.Process(target=produce, args=(q, n // 2)) for _ in range(2)]
            for p in producers:
                p.start()
            for p in producers:
                p.join()
            q.put(None)
            q.put(None)
            got = done.get() + done.get()
            assert got == n // 2 * 2, got

        def cleanup():
            for c in consumers:
                c.join()
        return run, cleanup
    return {"samples": [n // 2 * 2 / s for s in timed(setup, reps)], "tasks": n,
            "note": "2 producer and 2 consumer processes; the producers' start is timed"}


def round_trip(sz, reps):
    n = sz.round_trips

    def setup(gate):
        gate[0].set()
        inq, outq = ctx.Queue(), ctx.Queue()
        p = ctx.Process(target=echo, args=(inq, outq))
        p.start()
        inq.put(-1)
        outq.get()

        def run():
            for i in range(n):
                inq.put(i)
                outq.get()

        def cleanup():
            inq.put(None)
            p.join()
        return run, cleanup
    return {"samples": [s / n * 1e6 for s in timed(setup, reps)], "tasks": n,
            "note": "put on one Queue, the other process answers on a second"}


def pipe_one_way(sz, reps):
    n = sz.items

    def setup(gate):
        mine, theirs = ctx.Pipe()
        p = ctx.Process(target=send, args=(theirs, n, gate))
        p.start()
        theirs.close()

        def run():
            for _ in range(n):
                mine.recv()
        return run, p.join
    return {"samples": [n / s for s in timed(setup, reps)], "tasks": n,
            "note": "Pipe(), Connection.send and recv"}


def blobs(sz, reps, via_pipe):
    n, size = sz.blobs, sz.blob_size

    def setup(gate):
        if via_pipe:
            mine, theirs = ctx.Pipe()
            p = ctx.Process(target=send_blobs, args=(theirs, n, size, gate))
            get = mine.recv
        else:
            q = ctx.Queue()
            p = ctx.Process(target=put_blobs, args=(q, n, size, gate))
            get = q.get
        p.start()

        def run():
            for _ in range(n):
                get()
        return run, p.join
    return {"samples": [n * size / s / 1e9 for s in timed(setup, reps)], "tasks": n,
            "note": f"{size // MIB} MiB bytes items, " + ("Connection.send" if via_pipe else "Queue.put")}


METRICS = {
    "queue_1to1": one_to_one,
    "queue_roundtrip": round_trip,
    "queue_2x2": two_by_two,
    "pipe_1way": pipe_one_way,
    "queue_bytes": lambda sz, reps: blobs(sz, reps, False),
    "pipe_bytes": lambda sz, reps: blobs(sz, reps, True),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    ap.add_argument("--only", default="", help="regex selecting metric names")
    args = ap.parse_args()
    sizes = Sizes(args.quick)
    only = re.compile(args.only) if args.only else None
    results = {}
    for name, measure in METRICS.items():
        if only is None or only.search(name):
            log(name)
            results[name] = measure(sizes, args.reps)
    json.dump({
        "python": platform.python_version(),
        "start_method": "fork",
        "reps": args.reps,
        "quick": args.quick,
        "results": {"pool": results},
        "notes": {},
    }, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
