// Command process starts one worker process and waits for it, like Python's
//
//	p = multiprocessing.Process(target=my_process)
//	p.start()
//	p.join()
//
// Run it with:
//
//	go run ./examples/process
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/multiproc/multiproc"
)

// myProcess is registered at package level, under an explicit name, so that the
// worker (a fresh execution of this same binary) has it too before Main runs.
// It takes and returns struct{} because, like Python's target=my_process, it
// needs no argument and gives no result.
var myProcess = multiproc.Register("myProcess", func(ctx context.Context, _ struct{}) (struct{}, error) {
	fmt.Println("This is a child process.")
	return struct{}{}, nil
})

func main() {
	// First statement: in a worker this serves the task and exits, so nothing
	// below runs twice. In the parent it returns at once.
	multiproc.Main()
	log.SetFlags(0)

	ctx := context.Background()
	p, err := multiproc.Start(ctx, myProcess, struct{}{}) // start()
	if err != nil {
		log.Fatal(err)
	}
	// join(): what the child printed is written before Wait returns, so the
	// two lines always come out in this order.
	if _, err := p.Wait(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("Parent process completed.")
}
