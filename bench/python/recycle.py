"""The recycle rows of pools.py: what replacing workers costs a map of short
CPU-bound tasks, with multiprocessing.Pool(maxtasksperchild=25) and
ProcessPoolExecutor(max_tasks_per_child=25). cmd/mpbench/recycle.go measures
multiproc the same way, and the row ids and notes here must match it.

Two differences from multiproc, both forced by Python and said in the notes:

- Python counts a chunk as one task towards the limit, so with the automatic
  chunk size (125 tasks a chunk for 1000 tasks) "every 25" would mean every
  3125 tasks and a map would never recycle. Both pools run chunksize=1, with and
  without recycling, so that 25 means 25 tasks as in multiproc.
- ProcessPoolExecutor refuses max_tasks_per_child on the fork start method and
  picks spawn when given none; it runs on spawn with and without recycling, so
  that only recycling differs.
"""

import concurrent.futures as cf
import multiprocessing as mp
import time

EVERY = 25
IDS = ("recycle_never", "recycle_every25", "recycle_kept")

# A replacement worker that has not finished a task after this long is not
# coming: CPython's ProcessPoolExecutor can stop replacing workers altogether
# (gh-115634), and without a limit the benchmark would hang there.
STALL_S = 5.0

# Pool has no known hang here; this only bounds a surprise.
POOL_TIMEOUT_S = 120.0


class Stalled(Exception):
    pass


class PoolRecycle:
    """multiprocessing.Pool on fork, chunksize=1."""

    name = "pool"

    def __init__(self, workers, recycle):
        kw = {"maxtasksperchild": EVERY} if recycle else {}
        self.p = mp.get_context("fork").Pool(workers, **kw)

    def map(self, f, xs):
        return self.p.map_async(f, xs, 1).get(POOL_TIMEOUT_S)

    def close(self):
        self.p.terminate()
        self.p.join()

    abandon = close


class ExecutorRecycle:
    """concurrent.futures.ProcessPoolExecutor on spawn, one task per submit."""

    name = "ppe"

    def __init__(self, workers, recycle):
        kw = {"max_tasks_per_child": EVERY} if recycle else {}  # TypeError before 3.11
        self.p = cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), **kw)

    def map(self, f, xs):
        # What Executor.map does with chunksize=1, but every result gets its own
        # timeout, which tells a pool that stopped from one that is slow.
        futs = [self.p.submit(f, x) for x in xs]
        try:
            return [fut.result(STALL_S) for fut in futs]
        except cf.TimeoutError:
            raise Stalled(f"no task finished for {STALL_S:.0f} s") from None

    def close(self):
        self.p.shutdown(wait=True, cancel_futures=True)

    def abandon(self):
        """Give up on a stalled executor. shutdown(wait=True) would wait for the
        tasks it can no longer run, so kill its workers and leave its manager
        thread behind: pools.py then ends with os._exit."""
        procs = list((getattr(self.p, "_processes", None) or {}).values())  # shutdown drops them
        self.p.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            proc.kill()


def notes(cls, sizes, workers):
    chunk = -(-sizes.recycle_tasks // (4 * workers))
    base = "chunksize=1" if cls is PoolRecycle else "spawn (what max_tasks_per_child requires), chunksize=1"
    return {
        "recycle_never": base,
        "recycle_every25": f"{base}, {'maxtasksperchild' if cls is PoolRecycle else 'max_tasks_per_child'}="
                           f"{EVERY}: Python counts a chunk as one task, and with the automatic chunk size "
                           f"({chunk} for {sizes.recycle_tasks} tasks) a worker would be recycled every {chunk * EVERY} tasks",
    }


def measure(cls, task, arg, reps, sizes, workers, log):
    """Tasks/s of a map of sizes.recycle_tasks tasks task(arg), on a pool that never
    recycles and on one that recycles every EVERY tasks, both in every rep, and
    their ratio. Returns (results by id, whether a pool was abandoned)."""
    note = notes(cls, sizes, workers)
    try:
        recycled = cls(workers, True)
    except (TypeError, ValueError) as e:  # no max_tasks_per_child before Python 3.11
        return {i: {"samples": [], "note": f"skipped: {e}"} for i in IDS}, False
    plain = cls(workers, False)
    work = [arg] * sizes.recycle_tasks
    floor = min(sizes.recycle_floor, sizes.recycle_tasks)

    def rate(p, n):
        t0 = time.perf_counter()
        out = p.map(task, work[:n])
        if len(out) != n:
            raise RuntimeError(f"map returned {len(out)} of {n} results")
        return n / (time.perf_counter() - t0)

    stalled = None
    n = sizes.recycle_tasks
    plain.map(task, work[:2 * workers])  # the executor starts its workers on demand
    rate(plain, floor)  # warm-up
    try:
        recycled.map(task, work[:2 * workers])
        # The warm-up also says how fast recycling goes, so that a slow pool does
        # fewer tasks per rep.
        n = max(floor, min(n, int(rate(recycled, floor) * sizes.recycle_budget_s)))
    except Stalled as e:
        stalled = e
    never, every, kept = [], [], []
    for rep in range(reps):
        # Alternate which goes first: the recycling pool may still be starting its
        # last replacement when the other run begins.
        order = [plain, recycled] if rep % 2 == 0 else [recycled, plain]
        got = {}
        for p in order:
            if p is recycled and stalled:
                continue
            try:
                got[p] = rate(p, n)
            except Stalled as e:
                if p is plain:
                    raise
                stalled = e
        never.append(got[plain])
        if recycled in got:
            every.append(got[recycled])
            kept.append(got[recycled] / got[plain])
    plain.close()
    out = {
        "recycle_never": {"samples": never, "tasks": n, "note": note["recycle_never"]},
        "recycle_every25": {"samples": every, "tasks": n, "note": note["recycle_every25"]},
        "recycle_kept": {"samples": kept, "tasks": n,
                         "note": "each rep runs both pools; the ratio is of the same rep"},
    }
    if stalled:
        log(cls.name, "recycling stalled:", stalled)
        recycled.abandon()
        why = (f"skipped: max_tasks_per_child={EVERY} stopped replacing workers ({stalled}); "
               "as in CPython issue gh-115634")
        for i in IDS[1:]:
            out[i] = {"samples": [], "note": why}
        return out, True
    recycled.close()
    return out, False
