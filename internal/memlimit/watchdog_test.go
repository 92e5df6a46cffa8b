//go:build linux

package memlimit

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/multiproc/multiproc/internal/testpoll"
)

// A child with no limit of its own that tries to use 2 GiB is seen over its 256 MiB limit by
// the watchdog, which reports it once; the test, as the pool would, kills it.
func TestWatchdogCatchesHog(t *testing.T) {
	t.Parallel()
	type report struct {
		pid         int
		used, limit int64
		at          time.Time
	}
	reports := make(chan report, 4)
	var c *child
	w := NewWatchdog(DefaultInterval, func(pid int, used, limit int64) {
		reports <- report{pid, used, limit, time.Now()}
		c.cmd.Process.Kill()
	})
	defer w.Stop()

	c = startChild(t, "hog", hogBytes, nil, nil)
	if err := w.Add(c.cmd.Process.Pid, testLimit); err != nil {
		t.Fatal(err)
	}
	var r report
	select {
	case r = <-reports:
	case <-time.After(time.Minute):
		t.Fatalf("the watchdog did not report the child; stderr:\n%s", c.stderr.Tail(2000))
	}
	ws := c.wait(t, time.Minute)
	if r.pid != c.cmd.Process.Pid || r.limit != testLimit || r.used <= testLimit {
		t.Errorf("report %+v, want pid %d over %d", r, c.cmd.Process.Pid, testLimit)
	}
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("child ended with %v, want SIGKILL", ws)
	}
	if d := c.death(ws); !(Death{KilledByWatchdog: true, ExitCode: d.ExitCode, Signal: d.Signal}).MemoryLimit() {
		t.Error("a death with KilledByWatchdog is not reported as the memory limit")
	}
	t.Logf("watchdog (%v interval): reported %v after the child's start, at %d MiB private resident (limit %d MiB, overshoot %d MiB)",
		DefaultInterval, r.at.Sub(c.start).Round(time.Millisecond), r.used/mib, testLimit/mib, (r.used-testLimit)/mib)
	// Reported once, and no longer watched.
	if w.Len() != 0 {
		t.Errorf("after the report the watchdog still watches %d pids", w.Len())
	}
	select {
	case r := <-reports:
		t.Errorf("second report %+v", r)
	default:
	}
}

// The watchdog reports a process over its limit exactly once, even if it stays over.
func TestWatchdogReportsOnce(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	w := NewWatchdog(time.Millisecond, func(pid int, used, limit int64) { calls.Add(1) })
	defer w.Stop()
	// This process uses more than one byte.
	if err := w.Add(os.Getpid(), 1); err != nil {
		t.Fatal(err)
	}
	if !testpoll.Until(10*time.Second, func() bool { return calls.Load() > 0 }) {
		t.Fatal("no report")
	}
	// Watch something else so that the loop keeps ticking, and let it tick a while.
	if err := w.Add(os.Getppid(), 1<<62); err != nil {
		t.Fatal(err)
	}
	from := w.samples.Load()
	if !testpoll.Until(10*time.Second, func() bool { return w.samples.Load() >= from+5 }) {
		t.Fatal("the watchdog stopped sampling")
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d reports, want 1", n)
	}
	w.Remove(os.Getpid()) // a no-op now
	if w.Len() != 1 {
		t.Errorf("Len = %d, want 1", w.Len())
	}
}

// Add, Remove and Usage may be called from many goroutines while the watchdog samples.
func TestWatchdogConcurrentUse(t *testing.T) {
	t.Parallel()
	w := NewWatchdog(time.Millisecond, func(pid int, used, limit int64) {
		t.Errorf("unexpected report for pid %d", pid)
	})
	defer w.Stop()
	pids := []int{os.Getpid(), os.Getppid(), 1}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				pid := pids[(g+i)%len(pids)]
				if err := w.Add(pid, 1<<62); err != nil && !errors.Is(err, os.ErrPermission) {
					t.Error(err)
					return
				}
				w.Usage(pid)
				if i%3 == 0 {
					w.Remove(pid)
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Add(os.Getpid(), 1<<62); err != nil {
		t.Fatal(err)
	}
	if !testpoll.Until(10*time.Second, func() bool { _, ok := w.Usage(os.Getpid()); return ok }) {
		t.Error("never sampled")
	}
}

func TestWatchdogErrors(t *testing.T) {
	t.Parallel()
	w := NewWatchdog(0, func(int, int64, int64) {})
	if w.interval != DefaultInterval {
		t.Errorf("interval = %v, want %v", w.interval, DefaultInterval)
	}
	if err := w.Add(os.Getpid(), 0); err == nil {
		t.Error("Add with limit 0: want an error")
	}
	if err := w.Add(deadPid(t), 1<<30); err == nil {
		t.Error("Add of a pid that does not exist: want an error")
	}
	if err := w.Add(os.Getpid(), 1<<62); err != nil {
		t.Fatal(err)
	}
	w.Stop()
	w.Stop()
	if err := w.Add(os.Getpid(), 1<<30); !errors.Is(err, ErrStopped) {
		t.Errorf("Add after Stop = %v, want ErrStopped", err)
	}
	if w.Len() != 0 {
		t.Errorf("Len after Stop = %d", w.Len())
	}
}

// A process that exits is dropped quietly: no report, and Remove stays harmless.
func TestWatchdogDropsExited(t *testing.T) {
	t.Parallel()
	w := NewWatchdog(time.Millisecond, func(pid int, used, limit int64) {
		t.Errorf("unexpected report for pid %d", pid)
	})
	defer w.Stop()
	c := startChild(t, "steady", mib, nil, nil)
	c.expectLine(t, "ready", time.Minute)
	pid := c.cmd.Process.Pid
	if err := w.Add(pid, 1<<40); err != nil {
		t.Fatal(err)
	}
	c.stdin.Close()
	c.wait(t, time.Minute)
	if !testpoll.Until(10*time.Second, func() bool { return w.Len() == 0 }) {
		t.Error("an exited (and reaped) process is still watched")
	}
	w.Remove(pid)
}

// A tick allocates nothing, whatever the number of processes.
func TestWatchdogSampleAllocs(t *testing.T) {
	w := NewWatchdog(time.Hour, func(int, int64, int64) {})
	defer w.Stop()
	for _, pid := range []int{os.Getpid(), os.Getppid(), 1} {
		if err := w.Add(pid, 1<<62); err != nil && !errors.Is(err, os.ErrPermission) {
			t.Fatal(err)
		}
	}
	w.sample() // let fired reach its capacity
	if n := testing.AllocsPerRun(100, func() { w.sample() }); n != 0 {
		t.Errorf("a sample allocates %v times, want 0", n)
	}
}

func BenchmarkWatchdogSample(b *testing.B) {
	w := NewWatchdog(time.Hour, func(int, int64, int64) {})
	defer w.Stop()
	if err := w.Add(os.Getpid(), 1<<62); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		w.sample()
	}
}

// deadPid returns the pid of a process that has exited and been reaped.
func deadPid(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/proc/self/exe", []string{"x", "-test.run=^$"}, &os.ProcAttr{
		Env: append(os.Environ(), childModeEnv+"=exit"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	return p.Pid
}
