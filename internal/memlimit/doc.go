// Package memlimit puts a hard memory limit on worker processes.
//
// A pool created with MemoryLimit(n) wants each worker killed when it uses more than n bytes,
// and the task it held failed with ErrMemoryLimit. Go offers no single mechanism that does this
// everywhere, so the package picks the best one the machine allows and says which is in force
// ([Mechanism]):
//
//   - "cgroup": each worker is started straight into a cgroup v2 of its own (clone3 with
//     CLONE_INTO_CGROUP, through [syscall.SysProcAttr] UseCgroupFD/CgroupFD) whose memory.max is
//     the limit and memory.swap.max is 0. The kernel's OOM killer enforces the limit exactly and
//     memory.oom.group kills the worker together with any process its tasks started. This needs a
//     cgroup v2 hierarchy with the memory controller that we may write to (a delegated subtree,
//     or root on a host whose cgroup is the root). See [OpenCgroupRoot].
//   - "rlimit+watchdog": the fallback. The worker lowers its own RLIMIT_DATA at startup, so the Go
//     runtime's next heap growth past the limit fails and the worker dies at once with
//     "fatal error: runtime: out of memory" (exit status 2), and it sets its GC memory limit
//     (GOMEMLIMIT) to 90% of the limit so the collector works hard before that. RLIMIT_DATA counts
//     address space rather than resident pages, so a parent-side [Watchdog] also samples every
//     worker's resident memory from /proc/PID/statm (every 50ms by default); the Limiter kills a
//     worker it finds over the limit.
//
// RLIMIT_AS is of no use for Go (the runtime reserves hundreds of MiB of address space it never
// touches), and GOMEMLIMIT alone is a soft target: that is why the fallback is a pair.
//
// # What "memory" means
//
// The cgroup mechanism counts what the kernel charges to the cgroup (anonymous memory, page
// cache and kernel memory the worker caused). The fallback counts private resident memory:
// statm's resident minus shared pages. Shared pages (the binary's text, shared-memory segments
// mapped by several workers) are left out on purpose, so that a segment shared by all workers
// does not count against each of them; RLIMIT_DATA ignores shared mappings in the same way.
// The RLIMIT_DATA the worker sets is the limit plus the private address space it had mapped when
// it applied it (about 40 MiB for a small Go program, 70 MiB for this package's test binary; 32
// MiB of it is the heap arena index, which is never resident): the budget for growth is then the limit itself and the two mechanisms of the
// fallback agree. A Go program cannot start with RLIMIT_DATA below about 40 MiB.
//
// In a binary built with -race the race detector's shadow memory is part of the process and
// counts too: here a worker used about 2.5 times the resident memory and 4 times the address
// space it used without -race, and under RLIMIT_DATA it is usually the race runtime that runs
// out first ("ThreadSanitizer failed to allocate", exit status 66; Death knows it). Tests that
// run under -race need limits with that margin.
//
// # Integration
//
// The pool uses a [Limiter] (one per pool) and a [Guard] (one per worker process):
//
//	// NewPool, when MemoryLimit(n) is given (NewLimiter probes cgroups: a few ms, once):
//	lim, err := memlimit.NewLimiter(ctx, memlimit.Config{Limit: n})
//	logger.Info("memory limit", "mechanism", lim.Mechanism(), "cgroup", lim.CgroupErr())
//
//	// For each worker (replacements too):
//	guard, env, err := lim.Prepare(cmd.Env, cmd.SysProcAttr) // SysProcAttr non-nil
//	cmd.Env = env
//	if err := cmd.Start(); err != nil {
//		guard.Exited(ctx, memlimit.Death{}) // releases its cgroup
//	}
//	guard.Started(cmd.Process.Pid)
//	// copy the worker's stderr to guard.Stderr() too (io.MultiWriter with its destination)
//	...
//	// once the worker has been reaped:
//	byLimit, err := guard.Exited(ctx, memlimit.Death{ExitCode: code, Signal: sig, Stderr: tail})
//	// byLimit: fail its task with ErrMemoryLimit instead of ErrWorkerDied
//
//	// Pool.Close / Terminate, after the workers:
//	lim.Close()
//
// and in the worker process, first thing in Main, before anything allocates much:
//
//	if _, err := memlimit.ApplyFromEnv(); err != nil { /* report to the parent and exit */ }
//
// The pool does not kill a worker over the limit itself: the kernel does (cgroup), the Go
// runtime does (RLIMIT_DATA), or the Limiter does when its watchdog sees the worker over
// (SIGKILL through a pidfd; Config.OnExceed is told, for logs). The pool sees a worker die as
// it would see any death, and Exited tells it why.
//
// Guard.Usage gives the figure the limit is checked against (for a MaxWorkerMemory recycle
// check or for Stats), and Limiter.Mechanism the string for Stats and logs.
//
// The parts the Limiter is built from are exported for callers that need something else:
// [CgroupRoot] and [Cgroup], [Watchdog], [ApplyInWorker], [SetRlimit], [ReadUsage], [Death] and
// [OOMScanner].
//
// # Cost
//
// The watchdog is one goroutine for all workers; each tick costs one pread of a /proc file that
// stays open per worker (about 4µs) and allocates nothing. It does not run while no worker is
// watched. A worker can overshoot the limit by what it allocates in one interval before the
// watchdog sees it; in the fallback RLIMIT_DATA stops fast growth of the Go heap long before that.
//
// Linux only: elsewhere [NewLimiter] returns an error wrapping [errors.ErrUnsupported]. Built
// with the tag multiproc_portable, which stands in for those systems on Linux, the Limiter
// uses no cgroup and no RLIMIT_DATA: "watchdog" ([MechanismWatchdog]), the GC limit in the
// worker and the watchdog in the parent.
package memlimit
