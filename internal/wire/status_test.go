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
		running bool
	}
	read := func() current {
		b, i, r := parent.Current()
		return current{b, i, r}
	}
	steps := []struct {
		name string
		do   func()
		want current
	}{
		{"fresh page", func() {}, current{}},
		{"begin", func() { worker.Begin(7, 3) }, current{7, 3, true}},
		{"end", worker.End, current{}},
		{"end twice", worker.End, current{}},
		{"extreme values", func() { worker.Begin(math.MaxUint64, math.MaxInt) },
			current{math.MaxUint64, math.MaxInt, true}},
		{"begin without end", func() { worker.Begin(1, 0) }, current{1, 0, true}},
		{"end at last", worker.End, current{}},
	}
	for _, s := range steps {
		s.do()
		if got := read(); got != s.want {
			t.Errorf("%s: Current = %+v, want %+v", s.name, got, s.want)
		}
	}
	for i, b := range page[2*8:] {
		if b != 0 {
			t.Fatalf("Status wrote byte %d of the page, past its two words", 2*8+i)
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
			worker.Begin(uint64(i), i)
			worker.End()
		}
	}()
	for range items {
		batch, item, running := parent.Current()
		if !running {
			continue
		}
		if batch >= items || item < 0 || item >= items {
			t.Fatalf("Current = %d, %d, running: not an item the worker began", batch, item)
		}
	}
	wg.Wait()
}
