// Command pipe plays ping-pong between a parent and a child process over a pipe, like
// Python's
//
//	parent_conn, child_conn = multiprocessing.Pipe()
//	p = multiprocessing.Process(target=player, args=(child_conn,))
//
// The parent sends "ping 1" to "ping 5"; the child answers each with "pong"; then the parent
// closes its end, and the child, reading io.EOF, returns how many it answered.
//
// Run it with:
//
//	go run ./examples/pipe
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/multiproc/multiproc"
)

// player answers every message until the other end is closed. The end it was given
// belongs to its process from now on: if the process dies, the parent's Recv returns
// io.EOF instead of waiting for ever.
var player = multiproc.Register("player", func(ctx context.Context, conn *multiproc.Conn[string]) (int, error) {
	answered := 0
	for {
		msg, err := conn.Recv(ctx)
		if errors.Is(err, io.EOF) {
			return answered, nil
		}
		if err != nil {
			return answered, err
		}
		if err := conn.Send(ctx, strings.Replace(msg, "ping", "pong", 1)); err != nil {
			return answered, err
		}
		answered++
	}
})

func main() {
	multiproc.Main()
	log.SetFlags(0)
	ctx := context.Background()

	parentConn, childConn, err := multiproc.NewPipe[string]()
	if err != nil {
		log.Fatal(err)
	}
	child, err := multiproc.Start(ctx, player, childConn)
	if err != nil {
		log.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if err := parentConn.Send(ctx, fmt.Sprintf("ping %d", i)); err != nil {
			log.Fatal(err)
		}
		answer, err := parentConn.Recv(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(answer)
	}
	parentConn.Close() // the child reads io.EOF
	n, err := child.Wait(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("the child answered", n)
}
