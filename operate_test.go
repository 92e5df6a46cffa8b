//go:build unix

package multiproc_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
)

func TestMaxTasksPerWorkerRecycles(t *testing.T) {
	p := newPool(t, multiproc.Processes(2), multiproc.MaxTasksPerWorker(3))
	infos, err := multiproc.Map(ctxFor(t), p, whoami, make([]struct{}, 30), multiproc.ChunkSize(2))
	if err != nil {
		t.Fatal(err)
	}
	perPid := map[int]int{}
	for _, in := range infos {
		perPid[in.Pid]++
	}
	for pid, n := range perPid {
		if n > 3 {
			t.Fatalf("worker %d ran %d tasks, more than MaxTasksPerWorker(3)", pid, n)
		}
	}
	if len(perPid) < 10 {
		t.Fatalf("30 tasks ran on %d workers, want at least 10", len(perPid))
	}
	eventually(t, 10*time.Second, "recycled workers gone", func() bool { return p.Stats().Workers == 2 })
	if st := p.Stats(); st.Recycled < 9 || st.Died != 0 || st.WorkersRestarted != st.Recycled {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestMaxWorkerMemoryRecyclesBetweenTasks(t *testing.T) {
	p := newPool(t, multiproc.Processes(1), multiproc.MaxWorkerMemory(64<<20))
	ctx := ctxFor(t)
	first, err := multiproc.Apply(ctx, p, hoard, 100)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the worker recycled", func() bool { return p.Stats().Recycled == 1 })
	second, err := multiproc.Apply(ctx, p, hoard, 0)
	if err != nil {
		t.Fatal(err)
	}
	if first == second {
		t.Fatal("a worker over MaxWorkerMemory took another task")
	}
}

func TestRetriesRunAgainWhereTheWorkerDied(t *testing.T) {
	p := newPool(t, multiproc.Processes(2), multiproc.Retries(2))
	ctx := ctxFor(t)
	in := [][]int{nil, {1}, nil, {1, 2}, nil, {1, 2, 3}}
	got, err := multiproc.Map(ctx, p, attempt, in[:5], multiproc.ChunkSize(2))
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 2, 1, 3, 1}; !slices.Equal(got, want) {
		t.Fatalf("attempts = %v, want %v", got, want)
	}
	eventually(t, 10*time.Second, "three replacements", func() bool { return p.Stats().Died == 3 })
	_, err = multiproc.Map(ctx, p, attempt, in, multiproc.ChunkSize(2))
	var te *multiproc.TaskError
	if !errors.As(err, &te) || te.Index != 5 || !errors.Is(err, multiproc.ErrWorkerDied) {
		t.Fatalf("got %v, want the third death of input 5", err)
	}
	// Errors and panics are not retried.
	if _, err := multiproc.Apply(ctx, p, panicky, "once"); err == nil {
		t.Fatal("panic was retried away")
	}
}

func TestInitializer(t *testing.T) {
	p := newPool(t, multiproc.Processes(2), multiproc.Initializer(setInit, "ready"))
	got, err := multiproc.Map(ctxFor(t), p, getInit, make([]int, 8), multiproc.ChunkSize(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range got {
		if v != "ready" {
			t.Fatalf("task saw %q, want the initializer's value", v)
		}
	}
	// Replacements are initialized too.
	multiproc.Apply(ctxFor(t), p, crash, "exit3")
	eventually(t, 10*time.Second, "worker replaced", func() bool { return p.Stats().Workers == 2 })
	got, err = multiproc.Map(ctxFor(t), p, getInit, make([]int, 8), multiproc.ChunkSize(1))
	if err != nil || slices.ContainsFunc(got, func(v string) bool { return v != "ready" }) {
		t.Fatalf("after a replacement: %v, %v", got, err)
	}
	if st := p.Stats(); st.Submitted != 17 {
		t.Fatalf("initializers counted as tasks: %+v", st)
	}

	_, err = multiproc.NewPool(multiproc.Processes(2), multiproc.Initializer(setInit, "fail"))
	if err == nil || !strings.Contains(err.Error(), "initializer refused") {
		t.Fatalf("NewPool with a failing initializer: %v", err)
	}
}

// When a replacement's initializer fails, the task it was started for fails with its error,
// and the pool keeps trying.
func TestInitializerFailingInAReplacement(t *testing.T) {
	flag := filepath.Join(t.TempDir(), "refuse")
	p := newPool(t, multiproc.Processes(1), multiproc.Initializer(setInit, "unless:"+flag))
	ctx := ctxFor(t)
	if _, err := multiproc.Apply(ctx, p, square, 2); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	multiproc.Apply(ctx, p, crash, "exit3")
	_, err := multiproc.Apply(ctx, p, square, 3)
	if err == nil || !strings.Contains(err.Error(), "initializer refused") {
		t.Fatalf("a task waiting for a replacement whose initializer fails: %v", err)
	}
	os.Remove(flag)
	eventually(t, 20*time.Second, "a replacement initialized", func() bool { return p.Stats().Workers == 1 })
	if v, err := multiproc.Apply(ctx, p, square, 4); err != nil || v != 16 {
		t.Fatalf("after the initializer recovered: %v, %v", v, err)
	}
}

func TestOutputPrefix(t *testing.T) {
	var out, errOut syncBuffer
	p := newPool(t, multiproc.Processes(1), multiproc.Stdout(&out), multiproc.Stderr(&errOut),
		multiproc.OutputPrefix(true), multiproc.Name("W"))
	if _, err := multiproc.Apply(ctxFor(t), p, speak, "one\ntwo\nthree"); err != nil {
		t.Fatal(err)
	}
	want := "[W-1] one\n[W-1] two\n[W-1] three"
	if out.String() != want || errOut.String() != want {
		t.Fatalf("stdout %q, stderr %q, want %q", out.String(), errOut.String(), want)
	}
}

func TestLoggerEvents(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	p := newPool(t, multiproc.Processes(1), multiproc.Logger(logger),
		multiproc.TaskTimeout(100*time.Millisecond), multiproc.GracePeriod(50*time.Millisecond))
	ctx := ctxFor(t)
	multiproc.Apply(ctx, p, crash, "sigkill")
	multiproc.Apply(ctx, p, stubborn, time.Minute)
	eventually(t, 10*time.Second, "two replacements", func() bool { return p.Stats().WorkersRestarted == 2 })
	eventually(t, 10*time.Second, "the events logged", func() bool {
		s := logs.String()
		return strings.Contains(s, "worker replaced") && strings.Count(s, "worker replaced") == 2
	})
	s := logs.String()
	for _, want := range []string{"worker started", "worker exited", "signal=killed", "task timed out", "cause=timeout"} {
		if !strings.Contains(s, want) {
			t.Errorf("log lacks %q:\n%s", want, s)
		}
	}
	if st := p.Stats(); st.Died != 1 || st.TimedOut != 1 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestSilentByDefault(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(old)
	p := newPool(t, multiproc.Processes(1))
	multiproc.Apply(ctxFor(t), p, crash, "sigkill")
	eventually(t, 10*time.Second, "the worker replaced", func() bool { return p.Stats().Workers == 1 })
	p.Close()
	if buf.Len() != 0 {
		t.Fatalf("logged without a Logger: %s", buf.String())
	}
}

func TestMemoryLimit(t *testing.T) {
	limit := int64(256 << 20)
	p := newPool(t, multiproc.Processes(2), multiproc.MemoryLimit(limit), multiproc.Stderr(io.Discard))
	if st := p.Stats(); st.MemoryMechanism == "" {
		t.Fatal("Stats does not say which memory limit mechanism is in force")
	}
	ctx := ctxFor(t)
	// The pids of both workers: tasks that take a while spread over them.
	pids := map[int]bool{}
	for try := 0; len(pids) < 2; try++ {
		if try == 20 {
			t.Fatalf("tasks ran on workers %v only", pids)
		}
		got, err := multiproc.Map(ctx, p, sleepy, []time.Duration{20 * time.Millisecond, 20 * time.Millisecond},
			multiproc.ChunkSize(1))
		if err != nil {
			t.Fatal(err)
		}
		for _, pid := range got {
			pids[pid] = true
		}
	}
	start := time.Now()
	_, err := multiproc.Apply(ctx, p, hoard, 2048)
	if !errors.Is(err, multiproc.ErrMemoryLimit) {
		t.Fatalf("a task over the limit: %v, want ErrMemoryLimit", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("stopped after %v", d)
	}
	var we *multiproc.WorkerError
	if !errors.As(err, &we) || we.Pid == 0 {
		t.Fatalf("got %v, want a *WorkerError with the pid", err)
	}
	if _, err := multiproc.Apply(ctx, p, hoard, 10); err != nil {
		t.Fatalf("the next task: %v", err)
	}
	eventually(t, 10*time.Second, "the worker replaced", func() bool { return p.Stats().Workers == 2 })
	st := p.Stats()
	if st.MemoryKilled != 1 || st.Died != 0 {
		t.Fatalf("Stats = %+v", st)
	}
	// The other worker was untouched.
	after, err := multiproc.Map(ctx, p, square, []int{1, 2, 3, 4}, multiproc.ChunkSize(1))
	if err != nil || after[3] != 16 {
		t.Fatal(after, err)
	}
	living := 0
	for pid := range pids {
		if pid != we.Pid && alive(pid) {
			living++
		}
	}
	if living != 1 {
		t.Fatalf("workers %v: %d alive besides the killed %d, want 1", pids, living, we.Pid)
	}
}

func TestProgressLines(t *testing.T) {
	p := newPool(t, multiproc.Processes(2))
	var out syncBuffer
	if _, err := multiproc.Map(ctxFor(t), p, square, make([]int, 500), multiproc.Progress(&out)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "500/500") {
		t.Fatalf("progress output %q lacks the final count", out.String())
	}
	out2 := &syncBuffer{}
	for r := range multiproc.ImapUnordered(ctxFor(t), p, square, seq(300), multiproc.Progress(out2)) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if !strings.Contains(out2.String(), "300/300") {
		t.Fatalf("stream progress output %q lacks the final count", out2.String())
	}
}
