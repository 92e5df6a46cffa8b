package cluster

import (
	"bytes"
	"context"
	"errors"

	"strings"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestNoHost: with no host connected, a call waits, bounded by its ctx.
func TestNoHost(t *testing.T) {
	ts := startServer(t)
	p := newPool(t, ts, []Option{Name("lonely")})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := multiproc.Apply(ctx, p, square, 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Apply with no host: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Apply returned %v after its ctx ended", d-500*time.Millisecond)
	}
	// A host that comes later runs what waits.
	fut := multiproc.Submit(testContext(t, time.Minute), p, square, 3)
	startHost(t, ts, envTestProcs+"=1", envTestName+"=lonely")
	if v, err := fut.Wait(testContext(t, time.Minute)); err != nil || v != 9 {
		t.Fatalf("a task submitted before its host came: %v, %v", v, err)
	}
}

// TestNamespaces: two pools with different names on one server never see each other's tasks
// or results; a host runs only the functions it has, and others wait for a host that has
// them.
func TestNamespaces(t *testing.T) {
	ts := startServer(t)
	startHost(t, ts, envTestProcs+"=1", envTestName+"=red", envTestTag+"=red")
	startHost(t, ts, envTestProcs+"=1", envTestName+"=blue", envTestTag+"=blue", envTestHide+"=where")
	ctx := testContext(t, time.Minute)
	red := newPool(t, ts, []Option{Name("red")})
	blue := newPool(t, ts, []Option{Name("blue")})
	waitWorkers(t, red, 1)
	waitWorkers(t, blue, 1)

	ws, err := multiproc.Map(ctx, red, whereAt, make([]time.Duration, 20), multiproc.ChunkSize(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if w.Tag != "red" {
			t.Fatalf("a task of the red pool ran on host %q", w.Tag)
		}
	}
	if v, err := multiproc.Apply(ctx, blue, square, 5); err != nil || v != 25 {
		t.Fatalf("blue: %v, %v", v, err)
	}

	// The blue host lacks "where": the task waits for a host that has it.
	fut := multiproc.Submit(ctx, blue, whereAt, 0)
	select {
	case <-fut.Done():
		_, err := fut.Wait(ctx)
		t.Fatalf("a task for a function no host has finished: %v", err)
	case <-time.After(1500 * time.Millisecond):
	}
	startHost(t, ts, envTestProcs+"=1", envTestName+"=blue", envTestTag+"=blue2")
	w, err := fut.Wait(ctx)
	if err != nil || w.Tag != "blue2" || w.Attempt != 1 {
		t.Fatalf("the task, once a host has its function: %+v, %v", w, err)
	}
}

// TestLargeValues: values larger than the server's max payload travel, and leave nothing
// behind after the call.
func TestLargeValues(t *testing.T) {
	ts := startServer(t)
	startHost(t, ts, envTestProcs+"=2")
	ctx := testContext(t, time.Minute)
	p := newPool(t, ts, nil)
	waitWorkers(t, p, 2)

	began := time.Now()
	big := bytes.Repeat([]byte("0123456789"), 300_000) // 3 MB, over the 1 MiB max payload
	outs, err := multiproc.Map(ctx, p, echo, [][]byte{big, []byte("small"), big}, multiproc.ChunkSize(1))
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("123456789:"), 300_000)
	if !bytes.Equal(outs[0], want) || !bytes.Equal(outs[2], want) || string(outs[1]) != "tnbmm" {
		t.Fatalf("large values came back wrong (%d, %d, %d bytes)", len(outs[0]), len(outs[1]), len(outs[2]))
	}
	if _, err := multiproc.Apply(ctx, p, echo, big); err != nil {
		t.Fatal(err)
	}
	t.Logf("calls done after %v", time.Since(began))
	p.Close()
	t.Logf("closed after %v", time.Since(began))

	nc, err := nats.Connect(ts.url())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	l := layout{"multiproc"}
	deadline := time.Now().Add(10 * time.Second)
	for _, name := range []string{l.valuesStream(), l.tasksStream(), l.resultsStream()} {
		for {
			st, err := js.Stream(ctx, name)
			if err != nil {
				t.Fatalf("stream %s: %v", name, err)
			}
			info, err := st.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if info.State.Msgs == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("stream %s holds %d messages (%d bytes) after the pool closed", name, info.State.Msgs, info.State.Bytes)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestBadInput: invalid options fail at once, wrapping ErrInvalidOption; an unreachable
// server is an error naming its url.
func TestBadInput(t *testing.T) {
	for _, opt := range []multiproc.Option{
		At(""), At("   "), At("127.0.0.1:4222"), At("http://127.0.0.1:4222"), At("nats://"),
		At("nats://127.0.0.1:4222", Name("")), At("nats://127.0.0.1:4222", Name("a.b")),
		At("nats://127.0.0.1:4222", nil), At("nats://127.0.0.1:4222", LostAfter(0)),
		At("nats://127.0.0.1:4222", Workers(multiproc.Processes(1))),
	} {
		start := time.Now()
		if _, err := multiproc.NewPool(opt); !errors.Is(err, multiproc.ErrInvalidOption) || time.Since(start) > time.Second {
			t.Errorf("NewPool: %v after %v, want ErrInvalidOption at once", err, time.Since(start))
		}
	}
	if _, err := multiproc.NewPool(At("nats://127.0.0.1:4222"), multiproc.Processes(2)); !errors.Is(err, multiproc.ErrInvalidOption) {
		t.Errorf("Processes with At: %v", err)
	}
	if err := Serve(context.Background(), ""); !errors.Is(err, multiproc.ErrInvalidOption) {
		t.Errorf("Serve with no url: %v", err)
	}
	if err := Serve(context.Background(), "nats://127.0.0.1:4222", Workers(nil)); !errors.Is(err, multiproc.ErrInvalidOption) {
		t.Errorf("Serve with a nil option: %v", err)
	}

	url := "nats://127.0.0.1:1" // nothing listens there
	start := time.Now()
	_, err := multiproc.NewPool(At(url))
	if err == nil || !strings.Contains(err.Error(), url) || time.Since(start) > 10*time.Second {
		t.Errorf("NewPool on an unreachable server: %v after %v", err, time.Since(start))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start = time.Now()
	err = Serve(ctx, url)
	if err == nil || !strings.Contains(err.Error(), url) || time.Since(start) > 3*time.Second {
		t.Errorf("Serve on an unreachable server: %v after %v", err, time.Since(start))
	}
}

// TestMemoryStorage: with MemoryStorage, the streams live in the server's memory.
func TestMemoryStorage(t *testing.T) {
	ts := startServer(t)
	startHost(t, ts, envTestProcs+"=1", envTestName+"=mem", envTestMemory+"=1")
	ctx := testContext(t, time.Minute)
	p := newPool(t, ts, []Option{Name("mem"), MemoryStorage()})
	waitWorkers(t, p, 1)
	if v, err := multiproc.Apply(ctx, p, square, 7); err != nil || v != 49 {
		t.Fatalf("Apply: %v, %v", v, err)
	}
	nc, err := nats.Connect(ts.url())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctx, layout{"mem"}.tasksStream())
	if err != nil {
		t.Fatal(err)
	}
	if got := st.CachedInfo().Config.Storage; got != jetstream.MemoryStorage {
		t.Fatalf("the tasks stream's storage: %v", got)
	}
}
