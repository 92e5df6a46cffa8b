#!/usr/bin/env python3
"""Measure Python's process pools the way cmd/mpbench measures multiproc.

Two pools, 2 workers each: multiprocessing.Pool and
concurrent.futures.ProcessPoolExecutor, both on the fork start method (the
fastest Python has, and the default of 3.11 on Linux). Prints one JSON object
on stdout; progress goes to stderr. cmd/mpbench runs this and merges the
numbers into its table, so the metric names and units here must match the ones
in cmd/mpbench/metrics.go.

The recycle rows (recycle.py) differ: both pools run chunksize=1 there, and the
executor runs on spawn, which its max_tasks_per_child requires.

Usage: python3 pools.py [--reps N] [--quick] [--only REGEX]
"""

import argparse
import concurrent.futures as cf
import json
import multiprocessing as mp
import os
import platform
import re
import statistics
import sys
import time

import recycle

WORKERS = 2
MIB = 1 << 20


# Task functions live at module level so that fork workers and pickling find them.
def square(x):
    return x * x


def pid(_):
    return os.getpid()


def identity(b):
    return b


def burn(n):
    # A deterministic busy loop: the same n is the same work in every process.
    x = 1
    for i in range(n):
        x = (x * 31 + i) & 0xFFFFFFFF
    return x


class Sizes:
    def __init__(self, quick):
        self.tasks = 2_000 if quick else 100_000  # target tasks per throughput rep
        self.apply_calls = 200 if quick else 2_000
        self.blobs, self.blob_size = (4, 1 * MIB) if quick else (64, 8 * MIB)
        self.cpu_tasks, self.cpu_ms = (4, 5) if quick else (40, 50)
        # A slow pool still gets through a rep in about this long: the task count
        # shrinks so that the whole run stays within its time budget.
        self.rep_budget_s = 0.2 if quick else 1.0
        self.settle_s = 0.05 if quick else 0.5  # as cmd/mpbench
        # The 8 MiB rows settle longer, as in cmd/mpbench: until the heap holding the
        # results has reached its steady size.
        self.bytes_settle_s = 0.05 if quick else 3.0
        # The recycle rows: 1 ms busy tasks per rep, or as few as the floor when
        # recycling makes a rep take over its budget (as in cmd/mpbench).
        self.recycle_tasks, self.recycle_floor = (200, 100) if quick else (1_000, 200)
        self.recycle_budget_s = 0.3 if quick else 1.5


T0 = time.perf_counter()


def log(*args):
    print(f"pools.py: {time.perf_counter() - T0:6.1f}s", *args, file=sys.stderr, flush=True)


# --- the two pools behind one small interface ----------------------------------


class PoolImpl:
    """multiprocessing.Pool on the fork context."""

    name = "pool"

    def __init__(self):
        self.p = mp.get_context("fork").Pool(WORKERS)

    def apply(self, f, x):
        return self.p.apply(f, (x,))

    def submit_many(self, f, xs):
        return [r.get() for r in [self.p.apply_async(f, (x,)) for x in xs]]

    def map(self, f, xs, chunksize=None):
        return self.p.map(f, xs, chunksize)  # None: Pool's automatic len/(4*workers)

    def unordered(self, f, xs):
        return sum(1 for _ in self.p.imap_unordered(f, xs, chunksize=1))

    def close(self):
        self.p.terminate()
        self.p.join()


class ExecutorImpl:
    """concurrent.futures.ProcessPoolExecutor on the fork context."""

    name = "ppe"

    def __init__(self):
        self.p = cf.ProcessPoolExecutor(WORKERS, mp_context=mp.get_context("fork"))

    def apply(self, f, x):
        return self.p.submit(f, x).result()

    def submit_many(self, f, xs):
        return [fut.result() for fut in [self.p.submit(f, x) for x in xs]]

    def map(self, f, xs, chunksize=None):
        # The executor has no automatic chunk size (its default is 1); for the
        # "auto" row it gets Pool's choice, len/(4*workers), like ANCHORS.md.
        if chunksize is None:
            chunksize = max(1, len(xs) // (4 * WORKERS))
        return list(self.p.map(f, xs, chunksize=chunksize))

    def unordered(self, f, xs):
        futs = [self.p.submit(f, x) for x in xs]
        return sum(1 for _ in cf.as_completed(futs))

    def close(self):
        self.p.shutdown(wait=True, cancel_futures=True)


IMPLS = [PoolImpl, ExecutorImpl]


# --- measurements ------------------------------------------------------------------


def wait_all_workers(impl):
    """Submit two concurrent pid tasks until every worker has answered one."""
    seen = set()
    deadline = time.perf_counter() + 30
    while len(seen) < WORKERS:
        if time.perf_counter() > deadline:
            raise RuntimeError("workers did not all answer within 30 s")
        seen.update(impl.submit_many(pid, range(WORKERS)))
    return seen


def vm_rss_mib(p):
    with open(f"/proc/{p}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {p}")


def memory_mib(p):
    """VmRSS, USS (Private_Clean + Private_Dirty) and PSS of a process, in MiB,
    read as cmd/mpbench/memory.go reads them."""
    rss = vm_rss_mib(p)
    kb = {}
    with open(f"/proc/{p}/smaps_rollup") as f:
        for line in f:
            fields = line.split()
            if len(fields) == 3 and fields[2] == "kB":
                kb[fields[0]] = int(fields[1])
    missing = {"Pss:", "Private_Clean:", "Private_Dirty:"} - kb.keys()
    if missing:
        raise RuntimeError(f"/proc/{p}/smaps_rollup lacks {sorted(missing)}")
    return rss, (kb["Private_Clean:"] + kb["Private_Dirty:"]) / 1024, kb["Pss:"] / 1024


MEMORY_IDS = ("rss", "uss", "uss_pss")
# The notes cmd/mpbench gives its own figures, so that the table shows them once.
MEMORY_NOTE = "mean of the 2 workers, 0.1 s after their first task"
MEMORY_NOTES = (
    MEMORY_NOTE,
    MEMORY_NOTE + "; USS = Private_Clean + Private_Dirty of /proc/PID/smaps_rollup",
    MEMORY_NOTE + "; PSS splits each shared page among the processes that map it, so it depends on what else runs",
)


def measure_start_and_memory(cls, reps, want):
    """Pool start until both workers answered (ms), and their idle RSS, USS and
    PSS (MiB), read at the same moment."""
    start = []
    mem = {i: [] for i in MEMORY_IDS}
    want_mem = any(want(i) for i in MEMORY_IDS)
    warm = cls()  # warm-up: the first pool also pays for imports and cold caches
    wait_all_workers(warm)
    warm.close()
    for _ in range(reps):
        t0 = time.perf_counter()
        impl = cls()
        pids = wait_all_workers(impl)
        start.append((time.perf_counter() - t0) * 1e3)
        if want_mem:
            time.sleep(0.1)  # let the workers settle into their idle state
            per_worker = [memory_mib(p) for p in pids]
            for k, i in enumerate(MEMORY_IDS):
                mem[i].append(statistics.mean(m[k] for m in per_worker))
        impl.close()
    out = {}
    if want("start"):
        out["start"] = {"samples": start}
    for i, note in zip(MEMORY_IDS, MEMORY_NOTES):
        if want(i):
            out[i] = {"samples": mem[i], "note": note}
    return out


def size_for(rate, sizes, floor):
    """Tasks per rep: the target, or fewer when the measured rate is low."""
    return max(floor, min(sizes.tasks, int(rate * sizes.rep_budget_s)))


def settle(run, sizes, seconds=None):
    """Runs the workload, untimed, for sizes.settle_s (or seconds): the timed reps
    measure the steady state, not the first calls after a start (cold caches, a heap
    still growing)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < (sizes.settle_s if seconds is None else seconds):
        run()


def rate_of(run, n):
    t0 = time.perf_counter()
    run(n)
    return n / (time.perf_counter() - t0)


def measure_throughput(run, reps, sizes):
    """Tasks/s of run(n); a warm-up rep picks n so a slow pool stays in budget."""
    warm = rate_of(run, min(1_000, sizes.tasks))
    n = size_for(warm, sizes, min(1_000, sizes.tasks))
    settle(lambda: run(n), sizes)
    return {"samples": [rate_of(run, n) for _ in range(reps)], "tasks": n}


def measure_full_throughput(run, reps, sizes):
    """Tasks/s with the full task count, on which the automatic chunk size depends;
    only a pathologically slow warm-up (over 3 budgets) shrinks it."""
    rate = rate_of(run, sizes.tasks)
    n = max(min(1_000, sizes.tasks), min(sizes.tasks, int(rate * 3 * sizes.rep_budget_s)))
    settle(lambda: run(n), sizes)
    return {"samples": [rate_of(run, n) for _ in range(reps)], "tasks": n}


def measure_apply(impl, reps, sizes):
    calls = sizes.apply_calls
    for i in range(50):  # warm-up
        impl.apply(square, i)
    settle(lambda: impl.apply(square, 1), sizes)
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for i in range(calls):
            impl.apply(square, i)
        samples.append((time.perf_counter() - t0) / calls * 1e6)
    return {"samples": samples, "tasks": calls}


def make_blobs(sizes):
    # Distinct objects: pickle memoizes a repeated object inside one chunk.
    return [bytes([i % 251]) * sizes.blob_size for i in range(sizes.blobs)]


def measure_bytes(impl, reps, blobs, sizes):
    """Identity map over the blobs, one per task (chunksize=1), bytes counted both
    ways. A warm-up of 2 blobs picks how many a rep sends (at least 8)."""
    def run(n):
        out = impl.map(identity, blobs[:n], 1)
        if len(out) != n or out[-1][:1] != blobs[n - 1][:1]:
            raise RuntimeError("identity map returned the wrong bytes")

    t0 = time.perf_counter()
    run(2)
    rate = 2 / (time.perf_counter() - t0)
    n = max(min(8, len(blobs)), min(len(blobs), int(rate * sizes.rep_budget_s)))
    total = 2 * n * sizes.blob_size
    settle(lambda: run(n), sizes, sizes.bytes_settle_s)
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        run(n)
        samples.append(total / (time.perf_counter() - t0) / 1e9)
    return {"samples": samples, "tasks": n, "note": "chunk size 1: one item per task"}


def measure_cold(cls, call, amount, reps):
    """Times the first call of a fresh pool (its workers answered first), once per rep,
    as a user's program sees it. amount is what a call moves per second of the rate."""
    samples = []
    for _ in range(reps):
        impl = cls()
        wait_all_workers(impl)
        t0 = time.perf_counter()
        call(impl)
        samples.append(amount / (time.perf_counter() - t0))
        impl.close()
    return {"samples": samples, "tasks": None,
            "note": "the first map of a fresh pool (its workers answered first), once per rep"}


def cold_map_auto(sizes):
    inputs = range(10 * sizes.tasks)  # as cmd/mpbench: ten times the settled row's
    return lambda impl: impl.map(square, inputs)


def cold_bytes(sizes):
    blobs = make_blobs(sizes)

    def call(impl):
        out = impl.map(identity, blobs, 1)
        if len(out) != len(blobs) or out[-1][:1] != blobs[-1][:1]:
            raise RuntimeError("identity map returned the wrong bytes")
    return call


# The cold rows: metric id -> (inputs maker returning the call, what one call moves).
COLD = {
    "map_auto_cold": (cold_map_auto, lambda sizes: 10 * sizes.tasks),
    "bytes_cold": (cold_bytes, lambda sizes: 2 * sizes.blobs * sizes.blob_size / 1e9),
}


def calibrate_burn(ms):
    """Iterations of burn() that take about ms milliseconds in this process.

    Keeps the fastest of several trials, so a moment of interference does not
    shorten the tasks."""
    n = 10_000
    while True:
        t0 = time.perf_counter()
        burn(n)
        if time.perf_counter() - t0 > 0.02:
            break
        n *= 2
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        burn(n)
        best = min(best, time.perf_counter() - t0)
    return max(1, int(n * ms / 1e3 / best))


# --- driver ---------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    ap.add_argument("--only", default="", help="regex selecting metric names")
    args = ap.parse_args()
    sizes = Sizes(args.quick)
    only = re.compile(args.only) if args.only else None

    def want(metric):
        return only is None or only.search(metric) is not None

    results = {cls.name: {} for cls in IMPLS}
    notes = {}

    # The cold rows first, while this process is fresh, as cmd/mpbench does.
    for metric, (prepare, amount) in COLD.items():
        if not want(metric):
            continue
        call = prepare(sizes)
        for cls in IMPLS:
            log(cls.name, metric)
            results[cls.name][metric] = measure_cold(cls, call, amount(sizes), args.reps)
        del call

    for cls in IMPLS:
        if want("start") or any(want(i) for i in MEMORY_IDS):
            log(cls.name, "start,", ", ".join(MEMORY_IDS))
            results[cls.name].update(measure_start_and_memory(cls, args.reps, want))

    hot = [m for m in ("apply", "map_chunk1", "map_auto", "imap_unordered_chunk1") if want(m)]
    for cls in IMPLS:
        if not hot:
            break
        impl = cls()
        wait_all_workers(impl)
        r = results[cls.name]
        if want("apply"):
            log(cls.name, "apply")
            r["apply"] = measure_apply(impl, args.reps, sizes)
        if want("map_chunk1"):
            log(cls.name, "map_chunk1")
            r["map_chunk1"] = measure_throughput(
                lambda n: impl.map(square, range(n), 1), args.reps, sizes)
        if want("map_auto"):
            log(cls.name, "map_auto")
            r["map_auto"] = measure_full_throughput(lambda n: impl.map(square, range(n)), args.reps, sizes)
        if want("imap_unordered_chunk1"):
            log(cls.name, "imap_unordered_chunk1")
            r["imap_unordered_chunk1"] = measure_throughput(
                lambda n: impl.unordered(square, range(n)), args.reps, sizes)
        impl.close()

    if want("bytes"):
        # The pools fork before the blobs exist, so the workers do not start with
        # half a GiB of the parent's pages mapped.
        impls = [cls() for cls in IMPLS]
        for impl in impls:
            wait_all_workers(impl)
        blobs = make_blobs(sizes)
        for impl in impls:
            log(impl.name, "bytes")
            results[impl.name]["bytes"] = measure_bytes(impl, args.reps, blobs, sizes)
            impl.close()
        del blobs

    if want("cpu_speedup"):
        iters = calibrate_burn(sizes.cpu_ms)
        notes["cpu_burn_iterations"] = iters
        work = [iters] * sizes.cpu_tasks
        impls = [cls() for cls in IMPLS]
        for impl in impls:
            wait_all_workers(impl)
            impl.map(burn, work[:WORKERS], 1)  # warm-up
        log("cpu_speedup")
        speedups = {impl.name: [] for impl in impls}
        serial_ms = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            for n in work:
                burn(n)
            serial = time.perf_counter() - t0
            serial_ms.append(serial * 1e3)
            for impl in impls:
                t0 = time.perf_counter()
                impl.map(burn, work, 1)  # one task per worker at a time: even split
                speedups[impl.name].append(serial / (time.perf_counter() - t0))
        for impl in impls:
            results[impl.name]["cpu_speedup"] = {
                "samples": speedups[impl.name], "tasks": len(work),
                "note": f"serial {statistics.median(serial_ms):.0f} ms per rep"}
            impl.close()

    abandoned = False
    if any(want(i) for i in recycle.IDS):
        iters = calibrate_burn(1)
        notes["recycle_burn_iterations"] = iters
        for cls in (recycle.PoolRecycle, recycle.ExecutorRecycle):
            log(cls.name, ", ".join(recycle.IDS))
            out, gave_up = recycle.measure(cls, burn, iters, args.reps, sizes, WORKERS, log)
            abandoned = abandoned or gave_up
            results[cls.name].update({i: m for i, m in out.items() if want(i)})

    json.dump({
        "python": platform.python_version(),
        "start_method": "fork",
        "workers": WORKERS,
        "reps": args.reps,
        "quick": args.quick,
        "results": results,
        "notes": notes,
    }, sys.stdout, indent=1)
    print()
    if abandoned:
        # A stalled executor's manager thread waits forever for tasks no worker
        # will run, and the interpreter would join it at exit.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
