//go:build unix

package shmqueue

import (
	"context"
	"runtime"
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

// BenchmarkTwoByTwo moves 8-byte items from two goroutines to two others.
func BenchmarkTwoByTwo(b *testing.B) {
	q := newQueue(b, 1<<20, 1024)
	ctx := context.Background()
	item := make([]byte, 8)
	for p := range 2 {
		go func() {
			for range b.N/2 + p*(b.N%2) {
				q.Put(ctx, [][]byte{item}, true)
			}
		}()
	}
	done := make(chan int)
	for range 2 {
		go func() {
			n := 0
			for q.Get(ctx, true, func([]byte, bool) error { return nil }) == nil {
				n++
			}
			done <- n
		}()
	}
	for q.Len() != 0 || q.h.putLock.Owner() != 0 || countOf(q.h.head.Load()) < uint64(b.N) {
		runtime.Gosched()
	}
	q.Close()
	<-done
	<-done
}
