package testpoll

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestUntil(t *testing.T) {
	if !Until(time.Second, func() bool { return true }) {
		t.Error("a condition true at once was not seen")
	}
	var n atomic.Int32
	go func() {
		for range 3 {
			time.Sleep(time.Millisecond)
			n.Add(1)
		}
	}()
	if !Until(time.Minute, func() bool { return n.Load() == 3 }) {
		t.Error("a condition made true by another goroutine was not seen")
	}
	calls := 0
	if Until(30*time.Millisecond, func() bool { calls++; return false }) {
		t.Error("a condition never true was reported true")
	}
	if calls < 2 {
		t.Errorf("cond called %d times in 30 ms, want it polled", calls)
	}
}

// Wait fails the test with what did not happen.
func TestWait(t *testing.T) {
	var f fakeT
	Wait(&f, 5*time.Millisecond, "the sky falls", func() bool { return false })
	if f.failed != "not within 5ms: the sky falls" {
		t.Errorf("Wait failed with %q", f.failed)
	}
	f = fakeT{}
	Wait(&f, time.Second, "at once", func() bool { return true })
	if f.failed != "" {
		t.Errorf("Wait of a true condition failed: %q", f.failed)
	}
}

type fakeT struct {
	testing.TB
	failed string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
