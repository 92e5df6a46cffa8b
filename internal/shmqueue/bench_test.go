package shmqueue

import (
	"context"
	"testing"
)

// BenchmarkItems8MiB moves 8 MiB items from one goroutine to another through a 1 MiB ring.
func BenchmarkItems8MiB(b *testing.B) {
	q := newQueue(b, 1<<20, 4)
	ctx := context.Background()
	item := make([]byte, 8<<20)
	go func() {
		for range b.N {
			q.Put(ctx, [][]byte{item}, true)
		}
	}()
	b.SetBytes(int64(len(item)))
	for range b.N {
		q.Get(ctx, true, func([]byte, bool) error { return nil })
	}
}

// BenchmarkSmallItems moves 8-byte items from one goroutine to another.
func BenchmarkSmallItems(b *testing.B) {
	q := newQueue(b, 1<<20, 1024)
	ctx := context.Background()
	item := make([]byte, 8)
	go func() {
		for range b.N {
			q.Put(ctx, [][]byte{item}, true)
		}
	}()
	for range b.N {
		q.Get(ctx, true, func([]byte, bool) error { return nil })
	}
}
