#!/usr/bin/env python3
"""Measure Python's sharing between 2 processes the way multiproc's sharing benchmarks
(bench_share_test.go) measure it: a child's pass over shared memory, Value incremented with
its lock from 2 processes, mp.Lock acquire+release with 2 processes contending, and the time
from Event.set() to the return of wait() in another process.

Prints one JSON object on stdout, in the form pools.py prints; progress on stderr.

cmd/mpbench runs it after pools.py and puts its numbers in the Pool column of its share_ rows.

Usage: python3 sharing.py [--reps N] [--quick] [--only REGEX]
"""

import argparse
import json
import platform
import re
import multiprocessing as mp
import statistics
import sys
import time
from multiprocessing import shared_memory

ARRAY_BYTES = 64 << 20


def read_pass(name, q):
    shm = shared_memory.SharedMemory(name=name)
    out = bytearray(len(shm.buf))  # allocated and touched before the clock starts
    dst = memoryview(out)
    dst[:] = b"\0" * len(out)
    start = time.perf_counter()
    dst[:] = shm.buf  # one memcpy over every byte (bytearray's own slice assignment is 50x slower)
    q.put((time.perf_counter() - start, len(out)))
    dst.release()
    shm.close()


def array_read(reps):
    shm = shared_memory.SharedMemory(create=True, size=ARRAY_BYTES)
    shm.buf[:] = b"\x01" * ARRAY_BYTES
    out = []
    try:
        for _ in range(reps):
            q = mp.Queue()
            p = mp.Process(target=read_pass, args=(shm.name, q))
            p.start()
            d, n = q.get()
            p.join()
            out.append(n / d / 1e9)
    finally:
        shm.close()
        shm.unlink()
    return out


def add_loop(v, n):
    for _ in range(n):
        with v.get_lock():
            v.value += 1


def value_add(reps, n):
    out = []
    for _ in range(reps):
        v = mp.Value("q", 0)
        p = mp.Process(target=add_loop, args=(v, n))
        start = time.perf_counter()
        p.start()
        add_loop(v, n)
        p.join()
        assert v.value == 2 * n
        out.append(2 * n / (time.perf_counter() - start) / 1e6)
    return out


def lock_loop(lock, n):
    for _ in range(n):
        lock.acquire()
        lock.release()


def lock_pairs(reps, n):
    out = []
    for _ in range(reps):
        lock = mp.Lock()
        p = mp.Process(target=lock_loop, args=(lock, n))
        start = time.perf_counter()
        p.start()
        lock_loop(lock, n)
        p.join()
        out.append(2 * n / (time.perf_counter() - start) / 1e6)
    return out


def event_waiter(ev, go, q, rounds):
    for _ in range(rounds):
        go.wait()
        go.clear()
        ev.wait()
        q.put(time.time())


def event_wake(reps, rounds):
    ev, go, q = mp.Event(), mp.Event(), mp.Queue()
    p = mp.Process(target=event_waiter, args=(ev, go, q, reps * rounds))
    p.start()
    lat = []
    for _ in range(reps * rounds):
        ev.clear()
        go.set()
        time.sleep(0.002)  # the waiter is asleep in wait()
        t = time.time()
        ev.set()
        lat.append((q.get() - t) * 1e6)
    p.join()
    return [statistics.median(lat[i::reps]) for i in range(reps)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    mp.set_start_method("fork")
    n = 20000 if args.quick else 2000000
    global ARRAY_BYTES
    if args.quick:
        ARRAY_BYTES = 8 << 20
    wakes = 5 if args.quick else 20
    only = re.compile(args.only) if args.only else None
    results = {}
    for mid, f, note in [
        ("share_array_read", lambda: array_read(args.reps), "shared_memory.SharedMemory, one memcpy of it in a fork child"),
        ("share_value_add", lambda: value_add(args.reps, n), "mp.Value('q'), += under get_lock()"),
        ("share_lock", lambda: lock_pairs(args.reps, n), "mp.Lock acquire+release"),
        ("share_event_wake", lambda: event_wake(args.reps, wakes), "mp.Event"),
    ]:
        if only and not only.search(mid):
            continue
        print("python " + mid, file=sys.stderr)
        results[mid] = {"samples": f(), "note": note}
    json.dump({"python": platform.python_version(), "start_method": "fork",
               "results": {"pool": results}, "notes": {}}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
