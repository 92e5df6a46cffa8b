//go:build unix

package multiproc_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
)

func TestMapSquares(t *testing.T) {
	p := newPool(t, multiproc.Processes(2))
	for _, tc := range []struct {
		name string
		n    int
		opts []multiproc.MapOption
	}{
		{"empty", 0, nil},
		{"one", 1, nil},
		{"auto chunks", 1000, nil},
		{"chunk 1", 100, []multiproc.MapOption{multiproc.ChunkSize(1)}},
		{"chunk 7", 100, []multiproc.MapOption{multiproc.ChunkSize(7)}},
		{"chunk larger than input", 10, []multiproc.MapOption{multiproc.ChunkSize(1000)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := make([]int, tc.n)
			want := make([]int, tc.n)
			for i := range in {
				in[i] = i - 50
				want[i] = in[i] * in[i]
			}
			got, err := multiproc.Map(ctxFor(t), p, square, in, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Map = %v, want %v", got, want)
			}
		})
	}
}

func TestValuesTravelIntact(t *testing.T) {
	p := newPool(t, multiproc.Processes(2))
	ctx := ctxFor(t)
	blobs := [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte{0, 1, 2, 255}, 1<<18)}
	got, err := multiproc.Map(ctx, p, echoBytes, blobs, multiproc.ChunkSize(2))
	if err != nil {
		t.Fatal(err)
	}
	for i := range blobs {
		if !bytes.Equal(got[i], blobs[i]) {
			t.Fatalf("blob %d: got %d bytes, want %d", i, len(got[i]), len(blobs[i]))
		}
	}
	r := record{Name: "a", Tags: []string{"x", "y"}, Score: map[string]float64{"q": 1.5},
		Next: &record{Name: "b"}}
	out, err := multiproc.Apply(ctx, p, echoRecord, r)
	if err != nil {
		t.Fatal(err)
	}
	r.Name = "a!"
	if !reflect.DeepEqual(out, r) {
		t.Fatalf("record = %+v, want %+v", out, r)
	}
}

func TestErrorsCrossTheBoundary(t *testing.T) {
	p := newPool(t, multiproc.Processes(2))
	ctx := ctxFor(t)

	_, err := multiproc.Apply(ctx, p, failing, "missing")
	var re *multiproc.RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("got %v (%T), want *RemoteError", err, err)
	}
	if re.Type != "*fs.PathError" || !strings.Contains(re.Message, "/nonexistent/multiproc-test") {
		t.Fatalf("RemoteError = %+v", re)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("errors.Is(%v, fs.ErrNotExist) = false", err)
	}

	_, err = multiproc.Apply(ctx, p, failing, "custom")
	if !errors.Is(err, errCustom) || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("custom sentinel lost or confused: %v", err)
	}
	if err.Error() != "wrapped: test: custom sentinel" {
		t.Fatalf("message = %q", err.Error())
	}

	_, err = multiproc.Map(ctx, p, failing, []string{"ok", "ok", "plain", "ok"}, multiproc.ChunkSize(1))
	var te *multiproc.TaskError
	if !errors.As(err, &te) || te.Index != 2 {
		t.Fatalf("got %v, want *TaskError for index 2", err)
	}
	if !errors.As(err, &re) || re.Message != "plain failure" || re.Type != "*errors.errorString" {
		t.Fatalf("got %v, want the task's RemoteError inside the TaskError", err)
	}
}

func TestPanicBecomesPanicErrorAndWorkerSurvives(t *testing.T) {
	p := newPool(t, multiproc.Processes(1))
	ctx := ctxFor(t)
	before, err := multiproc.Apply(ctx, p, panicky, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = multiproc.Apply(ctx, p, panicky, "boom")
	var pe *multiproc.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v (%T), want *PanicError", err, err)
	}
	if pe.Value != "boom" || !strings.Contains(pe.Stack, "funcs_test.go") {
		t.Fatalf("PanicError = %q with stack %q", pe.Value, pe.Stack)
	}
	after, err := multiproc.Apply(ctx, p, panicky, "")
	if err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Fatalf("worker changed after a panic: pid %d then %d", before, after)
	}
	if st := p.Stats(); st.WorkersRestarted != 0 {
		t.Fatalf("WorkersRestarted = %d after a panic", st.WorkersRestarted)
	}
}

func TestSubmitAndFuture(t *testing.T) {
	p := newPool(t, multiproc.Processes(2))
	ctx := ctxFor(t)
	var futs []*multiproc.Future[int]
	for i := range 10 {
		futs = append(futs, multiproc.Submit(ctx, p, square, i))
	}
	for i, f := range futs {
		v, err := f.Wait(ctx)
		if err != nil || v != i*i {
			t.Fatalf("future %d = %d, %v", i, v, err)
		}
		select {
		case <-f.Done():
		default:
			t.Fatal("Done not closed after Wait returned")
		}
	}
}

func TestFutureWaitBoundsOnlyTheWaiting(t *testing.T) {
	p := newPool(t, multiproc.Processes(1))
	f := multiproc.Submit(ctxFor(t), p, sleepy, 300*time.Millisecond)
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := f.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with a short ctx = %v, want DeadlineExceeded", err)
	}
	if pid, err := f.Wait(ctxFor(t)); err != nil || pid == 0 {
		t.Fatalf("the task did not go on: %d, %v", pid, err)
	}
}

func TestTypesThatCannotTravel(t *testing.T) {
	p := newPool(t, multiproc.Processes(1))
	ctx := ctxFor(t)
	_, err := multiproc.Apply(ctx, p, takesFunc, withFunc{N: 1})
	if err == nil || !strings.Contains(err.Error(), "withFunc") || !strings.Contains(err.Error(), "Fn") {
		t.Fatalf("got %v, want an error naming withFunc and its field Fn", err)
	}
	_, err = multiproc.Map(ctx, p, returnsChan, []int{1})
	if err == nil || !strings.Contains(err.Error(), "withChan") {
		t.Fatalf("got %v, want an error naming withChan", err)
	}
	if _, err := multiproc.Start(ctx, takesFunc, withFunc{}); err == nil {
		t.Fatal("Start accepted a type that cannot travel")
	}
}

// registerLate registers a function after Main has run, once however often the test runs.
var registerLate = sync.OnceValue(func() *multiproc.Func[int, int] {
	return multiproc.Register("test.late", func(_ context.Context, x int) (int, error) { return x, nil })
})

func TestLateRegistration(t *testing.T) {
	late := registerLate()
	p := newPool(t, multiproc.Processes(1))
	if _, err := multiproc.Apply(ctxFor(t), p, late, 1); !errors.Is(err, multiproc.ErrNotRegistered) {
		t.Fatalf("got %v, want ErrNotRegistered", err)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "test.square") {
			t.Fatalf("recovered %v, want a panic naming the duplicate", r)
		}
	}()
	multiproc.Register("test.square", func(_ context.Context, x int) (int, error) { return x, nil })
}

func TestInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  multiproc.Option
	}{
		{"Processes(0)", multiproc.Processes(0)},
		{"Processes(-1)", multiproc.Processes(-1)},
		{"MaxTasksPerWorker(0)", multiproc.MaxTasksPerWorker(0)},
		{"TaskTimeout(0)", multiproc.TaskTimeout(0)},
		{"TaskTimeout(-1s)", multiproc.TaskTimeout(-time.Second)},
		{"MemoryLimit(0)", multiproc.MemoryLimit(0)},
		{"Retries(-1)", multiproc.Retries(-1)},
		{"Stdout(nil)", multiproc.Stdout(nil)},
		{"Name(\"\")", multiproc.Name("")},
		{"GracePeriod(0)", multiproc.GracePeriod(0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := multiproc.NewPool(tc.opt); !errors.Is(err, multiproc.ErrInvalidOption) {
				t.Fatalf("NewPool: got %v, want ErrInvalidOption", err)
			}
			if _, err := multiproc.Start(context.Background(), square, 1, tc.opt); !errors.Is(err, multiproc.ErrInvalidOption) {
				t.Fatalf("Start: got %v, want ErrInvalidOption", err)
			}
		})
	}
	p := newPool(t, multiproc.Processes(1))
	if _, err := multiproc.Map(ctxFor(t), p, square, []int{1}, multiproc.ChunkSize(0)); !errors.Is(err, multiproc.ErrInvalidOption) {
		t.Fatalf("Map with ChunkSize(0): got %v, want ErrInvalidOption", err)
	}
	for r := range multiproc.ImapUnordered(ctxFor(t), p, square, seq(3), multiproc.ChunkSize(-1)) {
		if !errors.Is(r.Err, multiproc.ErrInvalidOption) {
			t.Fatalf("ImapUnordered with ChunkSize(-1): got %v, want ErrInvalidOption", r.Err)
		}
	}
}

func TestClosedPool(t *testing.T) {
	p := newPool(t, multiproc.Processes(1))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	if _, err := multiproc.Map(ctx, p, square, []int{1}); !errors.Is(err, multiproc.ErrPoolClosed) {
		t.Fatalf("Map: %v", err)
	}
	if _, err := multiproc.Apply(ctx, p, square, 1); !errors.Is(err, multiproc.ErrPoolClosed) {
		t.Fatalf("Apply: %v", err)
	}
	if _, err := multiproc.Submit(ctx, p, square, 1).Wait(ctx); !errors.Is(err, multiproc.ErrPoolClosed) {
		t.Fatalf("Submit: %v", err)
	}
	n := 0
	for _, err := range multiproc.Imap(ctx, p, square, seq(5)) {
		n++
		if !errors.Is(err, multiproc.ErrPoolClosed) {
			t.Fatalf("Imap: %v", err)
		}
	}
	if n != 1 {
		t.Fatalf("Imap on a closed pool yielded %d items, want 1", n)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := p.Terminate(); err != nil {
		t.Fatalf("Terminate after Close: %v", err)
	}
	if st := p.Stats(); st.Workers != 0 {
		t.Fatalf("Stats.Workers = %d after Close", st.Workers)
	}
}

func TestCloseDrains(t *testing.T) {
	p := newPool(t, multiproc.Processes(2))
	ctx := ctxFor(t)
	var futs []*multiproc.Future[int]
	for range 6 {
		futs = append(futs, multiproc.Submit(ctx, p, sleepy, 50*time.Millisecond))
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for i, f := range futs {
		select {
		case <-f.Done():
		default:
			t.Fatalf("Close returned before task %d finished", i)
		}
		if _, err := f.Wait(ctx); err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
	}
}

func TestTerminateStopsNow(t *testing.T) {
	p := newPool(t, multiproc.Processes(2), multiproc.GracePeriod(100*time.Millisecond))
	ctx := ctxFor(t)
	var futs []*multiproc.Future[int]
	for range 5 {
		futs = append(futs, multiproc.Submit(ctx, p, stubborn, time.Minute))
	}
	eventually(t, 10*time.Second, "two tasks running", func() bool { return p.Stats().Busy == 2 })
	start := time.Now()
	if err := p.Terminate(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Terminate took %v", d)
	}
	for i, f := range futs {
		if _, err := f.Wait(ctx); !errors.Is(err, multiproc.ErrPoolClosed) {
			t.Fatalf("task %d: got %v, want ErrPoolClosed", i, err)
		}
	}
	if err := p.Terminate(); err != nil {
		t.Fatalf("second Terminate: %v", err)
	}
}

func TestNoLeakedDescriptorsOrProcesses(t *testing.T) {
	before := openFDs(t)
	var pids []int
	for range 3 {
		p, err := multiproc.NewPool(multiproc.Processes(2), multiproc.Stdout(&bytes.Buffer{}))
		if err != nil {
			t.Fatal(err)
		}
		infos, err := multiproc.Map(ctxFor(t), p, whoami, make([]struct{}, 4), multiproc.ChunkSize(1))
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range infos {
			pids = append(pids, in.Pid)
		}
		p.Close()
	}
	eventually(t, 5*time.Second, "descriptors back to where they were", func() bool { return openFDs(t) <= before })
	for _, pid := range pids {
		if alive(pid) {
			t.Fatalf("worker %d outlived its pool", pid)
		}
	}
}

func TestStats(t *testing.T) {
	p := newPool(t, multiproc.Processes(2))
	if p.Size() != 2 {
		t.Fatalf("Size = %d", p.Size())
	}
	ctx := ctxFor(t)
	if _, err := multiproc.Map(ctx, p, square, make([]int, 10)); err != nil {
		t.Fatal(err)
	}
	multiproc.Apply(ctx, p, failing, "plain")
	want := multiproc.Stats{Workers: 2, Submitted: 11, Completed: 10, Failed: 1}
	// Busy drops when the worker's last frame about the task is read, just after the result.
	eventually(t, 5*time.Second, "the pool idle", func() bool { return p.Stats().Busy == 0 })
	if st := p.Stats(); st != want {
		t.Fatalf("Stats = %+v, want %+v", st, want)
	}
}

func TestNestedPool(t *testing.T) {
	p := newPool(t, multiproc.Processes(1))
	got, err := multiproc.Apply(ctxFor(t), p, nested, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got != 285 {
		t.Fatalf("nested sum = %d, want 285", got)
	}
}

func TestWorkerNames(t *testing.T) {
	p := newPool(t, multiproc.Processes(2), multiproc.Name("Cruncher"))
	infos, err := multiproc.Map(ctxFor(t), p, whoami, make([]struct{}, 20), multiproc.ChunkSize(1))
	if err != nil {
		t.Fatal(err)
	}
	me := multiproc.Current()
	if me.Name != "MainProcess" || me.IsWorker {
		t.Fatalf("Current() in the parent = %+v", me)
	}
	for _, in := range infos {
		if in.Name != "Cruncher-1" && in.Name != "Cruncher-2" {
			t.Fatalf("worker name %q", in.Name)
		}
		if !in.IsWorker || in.ParentPid != me.Pid || in.Pid == me.Pid {
			t.Fatalf("worker Info = %+v, parent pid %d", in, me.Pid)
		}
	}
}
