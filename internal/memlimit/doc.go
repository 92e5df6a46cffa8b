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
//     worker's resident memory from /proc/PID/statm (every 50ms by default) and reports a worker
//     over its limit so the caller can kill it.
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
// it applied it (about 33 MiB for a Go program, almost all of it the heap arena index, which is
// never resident): the budget for growth is then the limit itself and the two mechanisms of the
// fallback agree. A Go program cannot start with RLIMIT_DATA below about 40 MiB.
//
// # Integration
//
// The pool uses a [Limiter] (one per pool) and a [Guard] (one per worker process):
//
//	// NewPool, when MemoryLimit(n) is given:
//	lim, err := memlimit.NewLimiter(memlimit.Config{
//		Limit:    n,
//		OnExceed: func(pid int, used, limit int64) { /* find the worker by pid, kill it */ },
//	})
//	logger.Info("memory limit", "mechanism", lim.Mechanism(), "why not cgroup", lim.CgroupErr())
//
//	// For each worker (also replacements):
//	guard, env, err := lim.Prepare(cmd.Env, cmd.SysProcAttr) // cmd.SysProcAttr must be non-nil
//	cmd.Env = env
//	err = cmd.Start()                    // on error: guard.Exited(ctx, memlimit.Death{})
//	guard.Started(cmd.Process.Pid)
//	// tee the worker's stderr pipe through guard.Stderr() as well as to its destination
//	...
//	state := cmd.Wait()                  // or however the worker is reaped
//	byLimit, err := guard.Exited(ctx, memlimit.Death{ExitCode: code, Signal: sig, Stderr: tail})
//	// byLimit: fail the task with ErrMemoryLimit instead of ErrWorkerDied
//
//	// Pool.Close / Terminate:
//	lim.Close()
//
// and in the worker process, first thing in Main:
//
//	if _, err := memlimit.ApplyFromEnv(); err != nil { /* report to the parent and exit */ }
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
// Linux only: elsewhere [NewLimiter] returns an error wrapping [errors.ErrUnsupported].
package memlimit
