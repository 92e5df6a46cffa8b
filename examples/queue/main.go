// Command queue runs a producer process and a consumer process that share a queue, like
// Python's
//
//	q = multiprocessing.Queue(8)
//	producer = multiprocessing.Process(target=produce, args=(q,))
//	consumer = multiprocessing.Process(target=consume, args=(q,))
//
// The producer puts the squares of 1 to 10 and closes the queue; the consumer takes them
// until the queue is closed and drained, and returns their sum.
//
// Run it with:
//
//	go run ./examples/queue
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/multiproc/multiproc"
)

// produce puts n squares on q, then closes it: closing is how a producer says it is done,
// as with a channel, and the consumer's range over q.All ends once it has taken the rest.
var produce = multiproc.Register("produce", func(ctx context.Context, q *multiproc.Queue[int]) (int, error) {
	for i := 1; i <= 10; i++ {
		if err := q.Put(ctx, i*i); err != nil {
			return 0, err
		}
	}
	return 10, q.Close()
})

// consume takes items until the queue is closed and drained.
var consume = multiproc.Register("consume", func(ctx context.Context, q *multiproc.Queue[int]) (int, error) {
	sum := 0
	for v, err := range q.All(ctx) {
		if err != nil {
			return 0, err
		}
		fmt.Println("consumer took", v)
		sum += v
	}
	return sum, nil
})

func main() {
	multiproc.Main()
	log.SetFlags(0)
	ctx := context.Background()

	// A queue is shared memory: passed to a process as its argument, it is the same queue
	// there. At most 8 items wait in it; the producer waits while it is full.
	q, err := multiproc.NewQueue[int](8)
	if err != nil {
		log.Fatal(err)
	}
	consumer, err := multiproc.Start(ctx, consume, q)
	if err != nil {
		log.Fatal(err)
	}
	producer, err := multiproc.Start(ctx, produce, q)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := producer.Wait(ctx); err != nil {
		log.Fatal(err)
	}
	sum, err := consumer.Wait(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sum of the squares:", sum)
}
