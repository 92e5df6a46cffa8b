package cluster_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/multiproc/multiproc"
	"github.com/multiproc/multiproc/cluster"
	"github.com/nats-io/nats-server/v2/server"
)

var cube = multiproc.Register("example.cube", func(_ context.Context, x int) (int, error) { return x * x * x, nil })

// A pool whose tasks run on a worker host, here in the same process (cluster.Serve) with an
// embedded NATS server; on real machines the hosts are the same binary started with
// MULTIPROC_SERVE=nats://... and the server runs somewhere.
func ExampleAt() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	ns, _ := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT,
		JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	go ns.Start()
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	ns.ReadyForConnections(10 * time.Second)
	url := ns.ClientURL()

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error)
	go func() { served <- cluster.Serve(ctx, url, cluster.Workers(multiproc.Processes(2))) }()

	pool, err := multiproc.NewPool(cluster.At(url))
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := multiproc.Map(context.Background(), pool, cube, []int{1, 2, 3, 4, 5})
	fmt.Println(out, err)
	pool.Close()

	stop()
	fmt.Println("host:", <-served)
	// Output:
	// [1 8 27 64 125] <nil>
	// host: <nil>
}
