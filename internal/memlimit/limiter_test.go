//go:build linux

package memlimit

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/multiproc/multiproc/internal/testpoll"
)

// limiterConfigs are the Limiter set-ups to test: the one this machine chooses, and the
// fallback forced (the same here, where there is no usable cgroup).
func limiterConfigs() map[string]Config {
	return map[string]Config{
		"auto":     {Limit: testLimit, Interval: 10 * time.Millisecond},
		"fallback": {Limit: testLimit, Interval: 10 * time.Millisecond, NoCgroup: true},
	}
}

// attrFor starts a worker in its Guard's cgroup, if it has one.
func attrFor(g *Guard) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{}
	if fd, ok := g.CgroupFD(); ok {
		attr.UseCgroupFD, attr.CgroupFD = true, fd
	}
	return attr
}

func newTestLimiter(t *testing.T, cfg Config) *Limiter {
	t.Helper()
	l, err := NewLimiter(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if (l.Mechanism() == MechanismCgroup) != (l.CgroupErr() == nil) {
		t.Fatalf("Mechanism %s but CgroupErr %v", l.Mechanism(), l.CgroupErr())
	}
	if l.CgroupErr() != nil && !errors.Is(l.CgroupErr(), ErrNoCgroup) {
		t.Errorf("CgroupErr %v does not wrap ErrNoCgroup", l.CgroupErr())
	}
	t.Logf("mechanism %s (cgroup: %v)", l.Mechanism(), l.CgroupErr())
	return l
}

// A worker that stays under its limit is left alone, with the whole Limiter path: Prepare,
// the worker's ApplyFromEnv, Started, Usage, Exited.
func TestLimiterLeavesWorkerUnderLimit(t *testing.T) {
	t.Parallel()
	for name, cfg := range limiterConfigs() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := newTestLimiter(t, cfg)
			g, env, err := l.Prepare(nil)
			if err != nil {
				t.Fatal(err)
			}
			attr := attrFor(g)
			c := startChild(t, "steady", steadyLive, env, attr, g.Stderr())
			if err := g.Started(c.cmd.Process.Pid); err != nil {
				t.Fatal(err)
			}
			c.expectLine(t, "ready", time.Minute)
			var used int64
			if !testpoll.Until(30*time.Second, func() bool { used, _ = g.Usage(); return used >= steadyLive }) {
				t.Fatalf("Usage = %d, want at least the %d live bytes", used, steadyLive)
			}
			if l.wd != nil {
				// Let the watchdog look at the worker many more times.
				from := l.wd.samples.Load()
				if !testpoll.Until(30*time.Second, func() bool { return l.wd.samples.Load() >= from+20 }) {
					t.Fatal("the watchdog stopped sampling")
				}
			}
			select {
			case <-c.done:
				t.Fatalf("the worker died under its limit; stderr:\n%s", c.stderr.Tail(3000))
			default:
			}
			if g.Exceeded() {
				t.Error("Exceeded() for a worker under its limit")
			}
			c.stdin.Close()
			ws := c.wait(t, time.Minute)
			byLimit, err := g.Exited(context.Background(), c.death(ws))
			if err != nil || byLimit || ws.ExitStatus() != 0 {
				t.Errorf("worker ended with %v; Exited = %v, %v; want a clean exit", ws, byLimit, err)
			}
			t.Logf("%d MiB live plus %d MiB of garbage under %d MiB: untouched, usage %d MiB",
				steadyLive/mib, steadyGarbage, testLimit/mib, used/mib)
		})
	}
}

// A worker that tries to use 2 GiB under 256 MiB dies, and Exited says it was the limit.
func TestLimiterStopsHog(t *testing.T) {
	t.Parallel()
	for name, cfg := range limiterConfigs() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var exceeded atomic.Int32
			cfg.OnExceed = func(pid int, used, limit int64) { exceeded.Add(1) }
			l := newTestLimiter(t, cfg)
			g, env, err := l.Prepare(nil)
			if err != nil {
				t.Fatal(err)
			}
			attr := attrFor(g)
			c := startChild(t, "hog", hogBytes, env, attr, g.Stderr())
			if err := g.Started(c.cmd.Process.Pid); err != nil {
				t.Fatal(err)
			}
			ws := c.wait(t, time.Minute)
			elapsed := time.Since(c.start)
			d := c.death(ws)
			d.Stderr, d.StderrOOM = "", false // Exited must know from its own scanner
			byLimit, err := g.Exited(context.Background(), d)
			if err != nil {
				t.Error(err)
			}
			if !byLimit {
				t.Fatalf("worker ended with %v and Exited says it was not the limit; stderr:\n%s", ws, c.stderr.Tail(3000))
			}
			if g.Exceeded() != (exceeded.Load() > 0) {
				t.Errorf("Exceeded() = %v but OnExceed was called %d times", g.Exceeded(), exceeded.Load())
			}
			how := "runtime out of memory (RLIMIT_DATA)"
			switch {
			case g.Exceeded():
				how = "watchdog SIGKILL"
			case ws.Signaled():
				how = "signal " + ws.Signal().String()
			}
			t.Logf("2 GiB under %d MiB: stopped after %v by %s", testLimit/mib, elapsed.Round(time.Millisecond), how)
			if again, err := g.Exited(context.Background(), d); again || err != nil {
				t.Errorf("second Exited = %v, %v; want false, nil", again, err)
			}
		})
	}
}

func TestLimiterPrepare(t *testing.T) {
	t.Parallel()
	l := newTestLimiter(t, Config{Limit: testLimit, NoCgroup: true})
	g, env, err := l.Prepare(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(env) != len(os.Environ())+1 || env[len(env)-1] != EnvVar+"="+EnvValue(fallbackMechanism, testLimit) {
		t.Errorf("Prepare(nil) env ends %q, want os.Environ() and %s", env[len(env)-1], EnvVar)
	}
	if _, err := g.Usage(); err == nil {
		t.Error("Usage before Started: want an error")
	}
	// A start that failed.
	if byLimit, err := g.Exited(context.Background(), Death{}); byLimit || err != nil {
		t.Errorf("Exited after a failed start = %v, %v", byLimit, err)
	}
	if _, err := NewLimiter(context.Background(), Config{}); err == nil {
		t.Error("NewLimiter with no limit: want an error")
	}
	if !strings.Contains(l.CgroupErr().Error(), fallbackCgroupErr) {
		t.Errorf("CgroupErr with NoCgroup = %v", l.CgroupErr())
	}
	if l.Limit() != testLimit || l.Mechanism() != fallbackMechanism {
		t.Errorf("Limit %d, Mechanism %s", l.Limit(), l.Mechanism())
	}
}
