// Command pool maps a function over a list on a pool of 4 worker processes,
// like Python's
//
//	with multiprocessing.Pool(processes=4) as pool:
//	    print(pool.map(square, [1, 2, 3, 4, 5]))
//
// Run it with:
//
//	go run ./examples/pool
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/multiproc/multiproc"
)

// square is registered at package level so that every process of this binary
// knows it by name before Main runs.
var square = multiproc.Register("square", func(ctx context.Context, x int) (int, error) {
	return x * x, nil
})

func main() {
	multiproc.Main() // first: in a worker process this serves tasks and never returns
	log.SetFlags(0)

	pool, err := multiproc.NewPool(multiproc.Processes(4))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close() // the end of Python's with-block

	results, err := multiproc.Map(context.Background(), pool, square, []int{1, 2, 3, 4, 5})
	if err != nil {
		log.Fatal(err) // skips the deferred Close, but workers never outlive this process
	}
	fmt.Println(results) // in input order: [1 4 9 16 25]
}
