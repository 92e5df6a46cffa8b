// Command sharedarray has 4 processes fill disjoint quarters of one SharedArray of a million
// numbers, which the parent then sums: the processes write the very memory the parent reads,
// with no copy, as with Python's
//
//	shm = shared_memory.SharedMemory(create=True, size=n * 8)
//	processes = [Process(target=fill, args=(shm.name, i)) for i in range(4)]
//
// but with no name that could leak: the memory goes when the last process holding it ends.
//
// Run it with:
//
//	go run ./examples/sharedarray
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/multiproc/multiproc"
)

const n = 1 << 20

// Part is a quarter of the array for one process to fill.
type Part struct {
	Array    *multiproc.SharedArray[float64]
	From, To int
}

var fill = multiproc.Register("fill", func(ctx context.Context, p Part) (struct{}, error) {
	a := p.Array.Slice()
	for i := p.From; i < p.To; i++ {
		a[i] = float64(i)
	}
	return struct{}{}, nil
})

func main() {
	multiproc.Main()
	log.SetFlags(0)
	ctx := context.Background()

	arr, err := multiproc.NewSharedArray[float64](n)
	if err != nil {
		log.Fatal(err)
	}
	defer arr.Close()
	var ps []*multiproc.Process[struct{}]
	for i := range 4 {
		p, err := multiproc.Start(ctx, fill, Part{arr, i * n / 4, (i + 1) * n / 4})
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
	sum := 0.0
	for _, x := range arr.Slice() {
		sum += x
	}
	fmt.Printf("sum of 0..%d: %.0f (expected %.0f)\n", n-1, sum, float64(n)*float64(n-1)/2)
}
