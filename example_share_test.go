//go:build unix

package multiproc_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/multiproc/multiproc"
)

// Handles travel to worker processes as (part of) a task's argument.
type tally struct {
	Total *multiproc.Value[int64]
	Seen  *multiproc.SharedArray[bool]
}

var count = multiproc.Register("example.count", func(_ context.Context, in struct {
	T tally
	I int
}) (struct{}, error) {
	in.T.Total.Add(int64(in.I))
	in.T.Seen.Slice()[in.I] = true
	return struct{}{}, nil
})

func ExampleNewValue() {
	pool, err := multiproc.NewPool(multiproc.Processes(2))
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	total, _ := multiproc.NewValue[int64](0)
	seen, _ := multiproc.NewSharedArray[bool](10)
	defer seen.Close()
	var ins []struct {
		T tally
		I int
	}
	for i := range 10 {
		ins = append(ins, struct {
			T tally
			I int
		}{tally{total, seen}, i})
	}
	if _, err := multiproc.Map(context.Background(), pool, count, ins); err != nil {
		panic(err)
	}
	fmt.Println(total.Load(), seen.Slice())
	// Output: 45 [true true true true true true true true true true]
}

var holdAndExit = multiproc.Register("example.holdAndExit", func(ctx context.Context, l *multiproc.Lock) (struct{}, error) {
	return struct{}{}, l.Lock(ctx) // the process ends holding the lock
})

func ExampleLock_ownerDied() {
	ctx := context.Background()
	l, _ := multiproc.NewLock()
	p, _ := multiproc.Start(ctx, holdAndExit, l)
	p.Wait(ctx)
	// The holder ended holding the lock: the next Lock takes it over and says so.
	err := l.Lock(ctx)
	fmt.Println(errors.Is(err, multiproc.ErrOwnerDied), l.Unlock())
	// Output: true <nil>
}

var setEvent = multiproc.Register("example.signal", func(ctx context.Context, e *multiproc.Event) (struct{}, error) {
	e.Set()
	return struct{}{}, nil
})

func ExampleEvent() {
	ctx := context.Background()
	e, _ := multiproc.NewEvent()
	if _, err := multiproc.Start(ctx, setEvent, e); err != nil {
		panic(err)
	}
	fmt.Println(e.Wait(ctx), e.IsSet())
	// Output: <nil> true
}
