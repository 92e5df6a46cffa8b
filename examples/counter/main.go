// Command counter has 4 processes increment one counter 10 000 times each, twice: first a
// number in a SharedArray guarded by a Lock, as Python's
//
//	def work(counter, lock):
//	    for _ in range(10000):
//	        with lock:
//	            counter.value += 1
//
//	counter, lock = multiprocessing.Value('q', 0, lock=False), multiprocessing.Lock()
//	processes = [multiprocessing.Process(target=work, args=(counter, lock)) for _ in range(4)]
//
// then a Value, whose Add is atomic and needs no lock. Both end at 40 000.
//
// Run it with:
//
//	go run ./examples/counter
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/multiproc/multiproc"
)

const perProcess = 10000

// Guarded is a counter and the Lock that guards it: the handles travel to the processes as
// the task's argument.
type Guarded struct {
	Counter *multiproc.SharedArray[int64]
	Lock    *multiproc.Lock
}

var incrementLocked = multiproc.Register("incrementLocked", func(ctx context.Context, g Guarded) (struct{}, error) {
	c := g.Counter.Slice()
	for range perProcess {
		if err := g.Lock.Lock(ctx); err != nil {
			return struct{}{}, err
		}
		c[0]++ // a plain increment: the Lock makes it safe
		if err := g.Lock.Unlock(); err != nil {
			return struct{}{}, err
		}
	}
	return struct{}{}, nil
})

var incrementAtomic = multiproc.Register("incrementAtomic", func(ctx context.Context, v *multiproc.Value[int64]) (struct{}, error) {
	for range perProcess {
		v.Add(1)
	}
	return struct{}{}, nil
})

// startAll starts 4 processes running f(in) and waits for them.
func startAll[In any](ctx context.Context, f *multiproc.Func[In, struct{}], in In) {
	var ps []*multiproc.Process[struct{}]
	for range 4 {
		p, err := multiproc.Start(ctx, f, in)
		if err != nil {
			log.Fatal(err)
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		if _, err := p.Wait(ctx); err != nil {
			log.Fatal(err)
		}
	}
}

func main() {
	multiproc.Main()
	log.SetFlags(0)
	ctx := context.Background()

	counter, err := multiproc.NewSharedArray[int64](1)
	if err != nil {
		log.Fatal(err)
	}
	defer counter.Close()
	lock, err := multiproc.NewLock()
	if err != nil {
		log.Fatal(err)
	}
	startAll(ctx, incrementLocked, Guarded{counter, lock})
	fmt.Println("with a Lock:", counter.Slice()[0])

	value, err := multiproc.NewValue[int64](0)
	if err != nil {
		log.Fatal(err)
	}
	startAll(ctx, incrementAtomic, value)
	fmt.Println("with Value.Add:", value.Load())
}
