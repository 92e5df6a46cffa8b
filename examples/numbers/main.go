// Command numbers starts 4 worker processes, each printing a different number
// with its own name, then waits for all of them, like Python's
//
//	for i in range(1, 5):
//	    p = multiprocessing.Process(target=print_number, args=(i,))
//	    processes.append(p)
//	    p.start()
//	for p in processes:
//	    p.join()
//
// Run it with:
//
//	go run ./examples/numbers
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/multiproc/multiproc"
)

// printNumber runs in a worker, where multiproc.Current() describes that
// worker: its Name is the "Process-N" the parent gave it.
var printNumber = multiproc.Register("printNumber", func(ctx context.Context, n int) (struct{}, error) {
	fmt.Printf("%s prints %d\n", multiproc.Current().Name, n)
	return struct{}{}, nil
})

func main() {
	multiproc.Main()
	log.SetFlags(0)

	ctx := context.Background()
	var processes []*multiproc.Process[struct{}]
	for i := 1; i <= 4; i++ {
		// Starts are numbered in the order they are made, so the i-th
		// process is "Process-i"; they run at the same time, so their lines
		// may come out in any order.
		p, err := multiproc.Start(ctx, printNumber, i)
		if err != nil {
			log.Fatal(err)
		}
		processes = append(processes, p)
	}
	for _, p := range processes {
		if _, err := p.Wait(ctx); err != nil {
			log.Fatalf("%s: %v", p.Name(), err)
		}
	}
	fmt.Println("All processes completed.")
}
