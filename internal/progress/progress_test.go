package progress

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/multiproc/multiproc/internal/syncbuf"
	"github.com/multiproc/multiproc/internal/testpoll"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// syncBuffer is a Writer whose content the test reads while the Bar writes.
type syncBuffer = syncbuf.Buffer

// lines splits what was written into lines.
func splitLines(s *syncBuffer) []string {
	return strings.Split(strings.TrimSuffix(s.String(), "\n"), "\n")
}

var (
	progressLine = regexp.MustCompile(`^\d+/100 tasks \(\d+\.\d%\) \d+(\.\d+)?/s ETA (\d+s|\d+m\d\ds|\d+h\d\dm|\?)$`)
	finalLine    = regexp.MustCompile(`^100/100 tasks \(100\.0%\) \d+(\.\d+)?/s in \d+\.\ds$`)
)

// Not a terminal: a line every interval while the work goes on, and a final one.
func TestPlainLines(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	bar := New(&out, 100, Interval(5*time.Millisecond))
	if _, ok := bar.view.(*plainView); !ok {
		t.Fatalf("a bytes buffer got view %T, want plain lines", bar.view)
	}
	for i := range 100 {
		bar.Add(1)
		if i == 49 {
			// Half done: wait for a line that says so.
			if !testpoll.Until(10*time.Second, func() bool { return strings.Contains(out.String(), "50/100 tasks (50.0%)") }) {
				t.Fatalf("no progress line for 50/100 in %q", out.String())
			}
		}
	}
	bar.Finish()
	bar.Finish() // harmless
	lines := splitLines(&out)
	if len(lines) < 2 {
		t.Fatalf("lines %q, want progress lines and a final one", lines)
	}
	for _, l := range lines[:len(lines)-1] {
		if !progressLine.MatchString(l) {
			t.Errorf("progress line %q does not match %v", l, progressLine)
		}
	}
	if last := lines[len(lines)-1]; !finalLine.MatchString(last) {
		t.Errorf("final line %q does not match %v", last, finalLine)
	}
	n := len(out.String())
	bar.Add(1)
	time.Sleep(20 * time.Millisecond) // four intervals: nothing may be written after Finish
	if len(out.String()) != n {
		t.Errorf("written after Finish: %q", out.String()[n:])
	}
}

// A short job writes only its final line; an unknown total shows no percentage or ETA.
func TestPlainUnknownTotal(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	bar := New(&out, -1, Unit("items"))
	bar.Add(7)
	bar.Finish()
	if !regexp.MustCompile(`^7 items \d+(\.\d+)?/s in \d+\.\ds\n$`).MatchString(out.String()) {
		t.Errorf("output %q", out.String())
	}
	// SetTotal turns the percentage on.
	out = syncBuffer{}
	bar = New(&out, -1)
	bar.Add(3)
	bar.SetTotal(4)
	bar.Finish()
	if !strings.HasPrefix(out.String(), "3/4 tasks (75.0%) ") {
		t.Errorf("output after SetTotal: %q", out.String())
	}
}

// Add is safe from many goroutines at once, while the Bar draws.
func TestConcurrentAdd(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	const goroutines, each = 8, 10000
	bar := New(&out, goroutines*each, Interval(time.Millisecond))
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				bar.Add(1)
			}
		}()
	}
	wg.Wait()
	bar.Finish()
	if bar.Count() != goroutines*each {
		t.Errorf("Count = %d, want %d", bar.Count(), goroutines*each)
	}
	lines := splitLines(&out)
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "80000/80000 tasks (100.0%) ") {
		t.Errorf("final line %q", last)
	}
}

// A nil writer, or a nil Bar, does nothing and starts nothing.
func TestInert(t *testing.T) {
	t.Parallel()
	bar := New(nil, 10)
	bar.Add(3)
	bar.SetTotal(20)
	bar.Finish()
	if bar.Count() != 3 {
		t.Errorf("Count = %d", bar.Count())
	}
	var none *Bar
	none.Add(1)
	none.SetTotal(1)
	none.Finish()
	if none.Count() != 0 {
		t.Error("nil Bar counted")
	}
}

func TestIsTerminalNotForFiles(t *testing.T) {
	t.Parallel()
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, x := range []any{f, w, &bytes.Buffer{}} {
		if isTerminal(x.(interface{ Write([]byte) (int, error) })) {
			t.Errorf("isTerminal(%T) = true", x)
		}
	}
}

func TestAppendLine(t *testing.T) {
	tests := []struct {
		done, total int64
		elapsed     time.Duration
		final       bool
		want        string
	}{
		{12345, 100000, 2700 * time.Millisecond, false, "12345/100000 tasks (12.3%) 4572/s ETA 20s\n"},
		{100000, 100000, 21900 * time.Millisecond, true, "100000/100000 tasks (100.0%) 4566/s in 21.9s\n"},
		{0, 10, time.Second, false, "0/10 tasks (0.0%) 0.00/s ETA ?\n"},
		{1, 1000, 10 * time.Second, false, "1/1000 tasks (0.1%) 0.10/s ETA 2h47m\n"},
		{30, 100, 10 * time.Second, false, "30/100 tasks (30.0%) 3.0/s ETA 24s\n"},
		{10, 100, 10 * time.Second, false, "10/100 tasks (10.0%) 1.0/s ETA 1m30s\n"},
		{5, -1, time.Second, false, "5 tasks 5.0/s\n"},
		{0, 0, time.Second, true, "0/0 tasks 0.00/s in 1.0s\n"},
		{10, 10, 90 * time.Second, true, "10/10 tasks (100.0%) 0.11/s in 1m30s\n"},
	}
	for _, tt := range tests {
		if got := string(appendLine(nil, "tasks", tt.done, tt.total, tt.elapsed, tt.final)); got != tt.want {
			t.Errorf("appendLine(%d, %d, %v, %v) = %q, want %q", tt.done, tt.total, tt.elapsed, tt.final, got, tt.want)
		}
	}
}

func BenchmarkAdd(b *testing.B) {
	bar := New(&syncBuffer{}, -1)
	defer bar.Finish()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bar.Add(1)
		}
	})
}
