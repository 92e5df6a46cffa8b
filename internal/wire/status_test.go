package wire

import (
	"math"
	"sync"
	"testing"
)

func TestStatus(t *testing.T) {
	t.Parallel()
	page := make([]byte, StatusSize)
	worker, parent := NewStatus(page), NewStatus(page) // two views of one page, as across processes
	type current struct {
		batch   uint64
		item    int
		started int64
		running bool
	}
	read := func() current {
		b, i, s, r := parent.Current()
		return current{b, i, s, r}
	}
	steps := []struct {
		name string
		do   func()
		want current
	}{
		{"fresh page", func() {}, current{}},
		{"begin", func() { worker.Begin(7, 3, 1.7e18) }, current{7, 3, 1.7e18, true}},
		{"end", worker.End, current{}},
		{"end twice", worker.End, current{}},
		{"extreme values", func() { worker.Begin(math.MaxUint64, math.MaxInt, math.MaxInt64) },
			current{math.MaxUint64, math.MaxInt, math.MaxInt64, true}},
		{"begin without end", func() { worker.Begin(1, 0, -5) }, current{1, 0, -5, true}},
		{"negative item", func() { worker.Begin(2, -1, 0) }, current{2, -1, 0, true}},
		{"end at last", worker.End, current{}},
	}
	for _, s := range steps {
		s.do()
		if got := read(); got != s.want {
			t.Errorf("%s: Current = %+v, want %+v", s.name, got, s.want)
		}
	}
	for i, b := range page[4*8:] {
		if b != 0 {
			t.Fatalf("Status wrote byte %d of the page, past its four words", 4*8+i)
		}
	}
}

func TestNewStatusShortPage(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("NewStatus accepted a page shorter than StatusSize")
		}
	}()
	NewStatus(make([]byte, StatusSize-1))
}

// TestStatusConcurrent has a worker record items while the parent reads: under -race it shows
// the page is only touched atomically, and a reading taken while running is of a started item.
func TestStatusConcurrent(t *testing.T) {
	t.Parallel()
	page := make([]byte, StatusSize)
	worker, parent := NewStatus(page), NewStatus(page)
	const items = 2000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range items {
			worker.Begin(uint64(i), i, int64(i))
			worker.End()
		}
	}()
	for range items {
		batch, item, started, running := parent.Current()
		if !running {
			continue
		}
		if batch >= items || item < 0 || item >= items || started < 0 || started >= items {
			t.Fatalf("Current = %d, %d, %d, running: not an item the worker began", batch, item, started)
		}
	}
	wg.Wait()
}
