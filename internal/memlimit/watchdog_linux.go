package memlimit

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// ErrStopped is returned by Watchdog.Add after Stop.
var ErrStopped = errors.New(errPrefix + "watchdog stopped")

// A Watchdog watches the private resident memory (Usage.Private) of a set of processes and
// calls a function once for each that goes over its limit.
//
// One goroutine samples all the processes; it runs only while at least one is watched. Each
// process's /proc/PID/statm stays open from Add to Remove and a sample is one pread of it, so a
// tick allocates nothing, and a pid that the kernel reuses after the process is reaped is never
// mistaken for it: the open file belongs to the old process and reads fail once it has exited
// (the Watchdog then drops it quietly).
//
// All methods are safe for concurrent use.
type Watchdog struct {
	interval time.Duration
	onExceed ExceedFunc

	mu      sync.Mutex
	procs   map[int]*watched
	stopped bool

	wake     chan struct{} // capacity 1: a pid was added while the loop may be idle
	quit     chan struct{} // closed by Stop
	done     chan struct{} // closed when the loop has returned
	stopOnce sync.Once

	samples atomic.Uint64 // ticks so far, for tests

	// Owned by the loop and reused on every tick.
	buf   [statmBufSize]byte
	fired []exceeded
}

type watched struct {
	fd    int
	limit int64
	last  int64 // last sample of Usage.Private, -1 before the first
}

type exceeded struct {
	pid         int
	used, limit int64
}

// NewWatchdog starts a watchdog that samples every interval (DefaultInterval if it is 0 or
// less) and calls onExceed, which must not be nil. Stop it when done.
func NewWatchdog(interval time.Duration, onExceed ExceedFunc) *Watchdog {
	if interval <= 0 {
		interval = DefaultInterval
	}
	w := &Watchdog{
		interval: interval,
		onExceed: onExceed,
		procs:    make(map[int]*watched),
		wake:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go w.loop()
	return w
}

// Add watches process pid against limit bytes. Adding a pid that is watched already replaces
// its limit. The caller must Remove the pid before it reaps the process (after which the
// number can be reused), or right after; a pid whose process has exited is dropped by itself.
func (w *Watchdog) Add(pid int, limit int64) error {
	if err := checkLimit(limit); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return ErrStopped
	}
	if p, ok := w.procs[pid]; ok {
		p.limit = limit
		return nil
	}
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/statm", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf(errPrefix+"watching pid %d: %w", pid, err)
	}
	w.procs[pid] = &watched{fd: fd, limit: limit, last: -1}
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// Remove stops watching pid. Removing a pid that is not watched does nothing.
func (w *Watchdog) Remove(pid int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if p, ok := w.procs[pid]; ok {
		unix.Close(p.fd)
		delete(w.procs, pid)
	}
}

// Usage returns the private resident memory last sampled for pid, and false if pid is not
// watched or not sampled yet. It costs a map look-up: a cheap figure for statistics.
func (w *Watchdog) Usage(pid int) (int64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, ok := w.procs[pid]
	if !ok || p.last < 0 {
		return 0, false
	}
	return p.last, true
}

// Len returns the number of watched processes.
func (w *Watchdog) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.procs)
}

// Stop stops watching every process and waits for the watchdog's goroutine to return, so no
// ExceedFunc call runs after it. Calling it again does nothing.
func (w *Watchdog) Stop() {
	w.stopOnce.Do(func() {
		close(w.quit)
		<-w.done
		w.mu.Lock()
		defer w.mu.Unlock()
		w.stopped = true
		for pid, p := range w.procs {
			unix.Close(p.fd)
			delete(w.procs, pid)
		}
	})
}

func (w *Watchdog) loop() {
	defer close(w.done)
	ticker := time.NewTicker(w.interval)
	defer ticker.Stop()
	for {
		// Sleep without a ticker while there is nothing to watch, so an idle pool does not
		// wake the CPU 20 times a second.
		if w.Len() == 0 {
			ticker.Stop()
			select {
			case <-w.quit:
				return
			case <-w.wake:
			}
			ticker.Reset(w.interval)
		}
		select {
		case <-w.quit:
			return
		case <-ticker.C:
		}
		for _, e := range w.sample() {
			w.onExceed(e.pid, e.used, e.limit)
		}
	}
}

// sample reads every watched process once and returns those over their limit, which it stops
// watching so that each is reported once. The callbacks run after the lock is released, so
// they may call Add and Remove.
func (w *Watchdog) sample() []exceeded {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.samples.Add(1)
	w.fired = w.fired[:0]
	for pid, p := range w.procs {
		n, err := unix.Pread(p.fd, w.buf[:], 0)
		if err != nil || n == 0 {
			// ESRCH: the process has exited; its task is gone, and Remove will be a no-op.
			unix.Close(p.fd)
			delete(w.procs, pid)
			continue
		}
		u, ok := parseStatm(w.buf[:n])
		if !ok {
			continue
		}
		p.last = u.Private()
		if p.last > p.limit {
			w.fired = append(w.fired, exceeded{pid: pid, used: p.last, limit: p.limit})
			unix.Close(p.fd)
			delete(w.procs, pid)
		}
	}
	return w.fired
}
