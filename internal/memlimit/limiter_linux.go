package memlimit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// A Limiter enforces one memory limit on many worker processes with the best mechanism the
// machine has: a cgroup per worker where that works, else RLIMIT_DATA in the worker and a
// Watchdog in the parent. A pool holds one; each worker gets a Guard from Prepare.
// Its methods are safe for concurrent use.
type Limiter struct {
	limit    int64
	mech     Mechanism
	cgErr    error
	root     *CgroupRoot // cgroup mechanism
	wd       *Watchdog   // rlimit mechanism
	onExceed ExceedFunc

	mu     sync.Mutex
	guards map[int]*Guard // started guards by pid, for the watchdog
}

// NewLimiter chooses the mechanism (probing cgroups, which starts a short process: see
// OpenCgroupRoot) and, for the fallback, starts the watchdog. Close it when done.
func NewLimiter(ctx context.Context, cfg Config) (*Limiter, error) {
	if err := checkLimit(cfg.Limit); err != nil {
		return nil, err
	}
	l := &Limiter{limit: cfg.Limit, onExceed: cfg.OnExceed, guards: make(map[int]*Guard)}
	if !kernelLimits {
		l.mech = MechanismWatchdog
		l.cgErr = fmt.Errorf("%w: the portable build uses no cgroup", ErrNoCgroup)
		l.wd = NewWatchdog(cfg.Interval, l.exceeded)
		return l, nil
	}
	if cfg.NoCgroup {
		l.cgErr = fmt.Errorf("%w: not asked for", ErrNoCgroup)
	} else {
		l.root, l.cgErr = OpenCgroupRoot(ctx)
	}
	if l.cgErr == nil {
		l.mech = MechanismCgroup
		return l, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mech = MechanismRlimit
	l.wd = NewWatchdog(cfg.Interval, l.exceeded)
	return l, nil
}

// Mechanism returns the mechanism in force.
func (l *Limiter) Mechanism() Mechanism { return l.mech }

// Limit returns the limit in bytes.
func (l *Limiter) Limit() int64 { return l.limit }

// CgroupErr says why the cgroup mechanism is not in force (wrapping ErrNoCgroup), or nil when it
// is: worth a log line, since the fallback is less exact.
func (l *Limiter) CgroupErr() error { return l.cgErr }

// Prepare readies the start of one worker. It returns the worker's Guard and its environment:
// env with EnvVar added (a nil env stands for os.Environ(), as in os/exec). With the cgroup
// mechanism it creates the worker's cgroup, which the worker must start in (Guard.CgroupFD).
// Start the worker, then call Started, or Exited if the start failed.
func (l *Limiter) Prepare(env []string) (*Guard, []string, error) {
	g := &Guard{l: l}
	if l.mech == MechanismCgroup {
		cg, err := l.root.NewGroup(l.limit)
		if err != nil {
			return nil, nil, err
		}
		g.cg = cg
	}
	return g, WithEnv(env, l.mech, l.limit), nil
}

// CgroupFD returns the descriptor of the cgroup the worker must start in
// (syscall.SysProcAttr's UseCgroupFD and CgroupFD), and whether there is one.
func (g *Guard) CgroupFD() (fd int, ok bool) {
	if g.cg == nil {
		return 0, false
	}
	return g.cg.FD(), true
}

// Close stops the watchdog. Workers still running stay limited by their rlimit or cgroup;
// call Exited for each when it ends.
func (l *Limiter) Close() error {
	if l.wd != nil {
		l.wd.Stop()
	}
	return nil
}

// exceeded is the watchdog's callback: it kills the worker and records why.
func (l *Limiter) exceeded(pid int, used, limit int64) {
	l.mu.Lock()
	g := l.guards[pid]
	l.mu.Unlock()
	if g == nil {
		return // Exited ran between the sample and now
	}
	g.exceeded.Store(true)
	g.kill()
	if l.onExceed != nil {
		l.onExceed(pid, used, limit)
	}
}

// A Guard follows one worker process from its start to its end. Its methods are safe for
// concurrent use.
type Guard struct {
	l        *Limiter
	cg       *Cgroup // cgroup mechanism
	exceeded atomic.Bool
	scanner  OOMScanner

	mu     sync.Mutex
	pid    int
	pidfd  int // rlimit mechanism: signals the process even if its pid is reused; -1 if none
	exited bool
}

// Started tells the Guard the worker's pid once it has started. With the cgroup mechanism it
// closes the cgroup descriptor; with the fallback it starts watching the worker.
func (g *Guard) Started(pid int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pid, g.pidfd = pid, -1
	if g.cg != nil {
		return g.cg.CloseFD()
	}
	if fd, err := unix.PidfdOpen(pid, 0); err == nil {
		g.pidfd = fd
	}
	g.l.mu.Lock()
	g.l.guards[pid] = g
	g.l.mu.Unlock()
	return g.l.wd.Add(pid, g.l.limit)
}

// Stderr returns a writer to copy the worker's stderr to, besides its real destination, so
// that Exited can recognise the Go runtime's out-of-memory message even when a long goroutine
// dump pushed it out of the stderr tail. It never fails.
func (g *Guard) Stderr() io.Writer { return &g.scanner }

// Usage returns the worker's memory as the limit counts it: memory.current of its cgroup, or its
// private resident memory (last watchdog sample, else read now).
func (g *Guard) Usage() (int64, error) {
	g.mu.Lock()
	pid := g.pid
	g.mu.Unlock()
	if g.cg != nil {
		return g.cg.Current()
	}
	if pid == 0 {
		return 0, errors.New(errPrefix + "worker not started")
	}
	if u, ok := g.l.wd.Usage(pid); ok {
		return u, nil
	}
	u, err := ReadUsage(pid)
	return u.Private(), err
}

// Exceeded reports whether the watchdog found the worker over its limit (and killed it).
func (g *Guard) Exceeded() bool { return g.exceeded.Load() }

// Exited is called once the worker has ended and been reaped, or when its start failed (with a
// zero Death). It completes d with what the Guard knows (KilledByWatchdog, OOMKills,
// StderrOOM), releases what the Guard held (stops watching; kills what is left in the cgroup
// and removes it, which may wait for ctx), and reports whether the worker died of the limit.
// Calling it again returns false, nil.
func (g *Guard) Exited(ctx context.Context, d Death) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.exited {
		return false, nil
	}
	g.exited = true
	if g.pid != 0 && g.cg == nil {
		g.l.wd.Remove(g.pid)
		g.l.mu.Lock()
		if g.l.guards[g.pid] == g {
			delete(g.l.guards, g.pid)
		}
		g.l.mu.Unlock()
	}
	if g.pidfd >= 0 && g.pid != 0 {
		unix.Close(g.pidfd)
		g.pidfd = -1
	}
	d.KilledByWatchdog = d.KilledByWatchdog || g.exceeded.Load()
	d.StderrOOM = d.StderrOOM || g.scanner.Found()
	var err error
	if g.cg != nil {
		var oomErr error
		if g.pid != 0 {
			d.OOMKills, oomErr = g.cg.OOMKills()
		}
		err = errors.Join(oomErr, g.cg.Remove(ctx))
	}
	return d.MemoryLimit(), err
}

// kill sends SIGKILL to the worker, through its pidfd when there is one.
func (g *Guard) kill() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.exited || g.pid == 0 {
		return
	}
	if g.pidfd >= 0 {
		unix.PidfdSendSignal(g.pidfd, unix.SIGKILL, nil, 0)
		return
	}
	// Without pidfd (Linux < 5.3) the pid is ours until the caller reaps the worker; only the
	// moment between its reaping and its Exited is left open to pid reuse.
	unix.Kill(g.pid, unix.SIGKILL)
}
