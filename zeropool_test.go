//go:build unix

package multiproc_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/multiproc/multiproc"
)

// The zero Pool behaves as a closed one: calls fail with ErrPoolClosed, and nothing panics.
func TestZeroPool(t *testing.T) {
	var p multiproc.Pool
	ctx := ctxFor(t)
	if _, err := multiproc.Map(ctx, &p, square, []int{1}); !errors.Is(err, multiproc.ErrPoolClosed) {
		t.Errorf("Map: %v", err)
	}
	if _, err := multiproc.Apply(ctx, &p, square, 1); !errors.Is(err, multiproc.ErrPoolClosed) {
		t.Errorf("Apply: %v", err)
	}
	if _, err := multiproc.Submit(ctx, &p, square, 1).Wait(ctx); !errors.Is(err, multiproc.ErrPoolClosed) {
		t.Errorf("Submit: %v", err)
	}
	for _, err := range multiproc.Imap(ctx, &p, square, slices.Values([]int{1})) {
		if !errors.Is(err, multiproc.ErrPoolClosed) {
			t.Errorf("Imap: %v", err)
		}
	}
	for r := range multiproc.ImapUnordered(ctx, &p, square, slices.Values([]int{1})) {
		if !errors.Is(r.Err, multiproc.ErrPoolClosed) {
			t.Errorf("ImapUnordered: %v", r.Err)
		}
	}
	if p.Size() != 0 || p.Stats() != (multiproc.Stats{}) || p.Close() != nil || p.Terminate() != nil {
		t.Errorf("Size %d, Stats %+v", p.Size(), p.Stats())
	}
}
