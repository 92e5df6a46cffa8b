package cluster

import (
	"slices"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
)

// TestCalls runs Map, Imap, ImapUnordered, Apply and Submit on two hosts of two workers.
func TestCalls(t *testing.T) {
	ts := startServer(t)
	startHost(t, ts, envTestProcs+"=2", envTestTag+"=a")
	startHost(t, ts, envTestProcs+"=2", envTestTag+"=b")
	p := newPool(t, ts, nil)
	waitWorkers(t, p, 4)
	ctx := testContext(t, time.Minute)

	inputs := make([]int, 1000)
	want := make([]int, len(inputs))
	for i := range inputs {
		inputs[i], want[i] = i, i*i
	}
	for _, opts := range [][]multiproc.MapOption{nil, {multiproc.ChunkSize(7)}} {
		got, err := multiproc.Map(ctx, p, square, inputs, opts...)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("Map: %v, %v", err, got[:min(len(got), 10)])
		}
	}

	i := 0
	for v, err := range multiproc.Imap(ctx, p, square, slices.Values(inputs[:300])) {
		if err != nil || v != want[i] {
			t.Fatalf("Imap item %d: %v, %v", i, v, err)
		}
		i++
	}
	if i != 300 {
		t.Fatalf("Imap yielded %d items, not 300", i)
	}

	seen := make([]int, 300)
	for r := range multiproc.ImapUnordered(ctx, p, square, slices.Values(inputs[:300])) {
		if r.Err != nil || r.Value != want[r.Index] {
			t.Fatalf("ImapUnordered item %d: %v, %v", r.Index, r.Value, r.Err)
		}
		seen[r.Index]++
	}
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("ImapUnordered yielded index %d %d times", i, n)
		}
	}

	if v, err := multiproc.Apply(ctx, p, square, 12); err != nil || v != 144 {
		t.Fatalf("Apply: %v, %v", v, err)
	}
	futs := make([]*multiproc.Future[int], 20)
	for i := range futs {
		futs[i] = multiproc.Submit(ctx, p, square, i)
	}
	for i, f := range futs {
		if v, err := f.Wait(ctx); err != nil || v != i*i {
			t.Fatalf("Submit %d: %v, %v", i, v, err)
		}
	}

	// Both hosts run tasks.
	ws, err := multiproc.Map(ctx, p, whereAt, slices.Repeat([]time.Duration{50 * time.Millisecond}, 16), multiproc.ChunkSize(1))
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]int{}
	for _, w := range ws {
		tags[w.Tag]++
		if w.Attempt != 1 {
			t.Errorf("a first run has Attempt %d", w.Attempt)
		}
	}
	if tags["a"] == 0 || tags["b"] == 0 {
		t.Errorf("tasks ran on hosts %v: want both a and b", tags)
	}
	if s := p.Stats(); s.Workers != 4 || s.Submitted == 0 || s.Completed != s.Submitted {
		t.Errorf("Stats: %+v", s)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}
