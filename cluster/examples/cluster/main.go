// Command cluster runs a Map across two worker hosts on one machine, through NATS JetStream:
// the whole of a cluster in one command.
//
//	go -C cluster run ./examples/cluster
//
// It starts an embedded NATS server with JetStream on 127.0.0.1 (a random port, its store in
// a temporary directory), starts two worker hosts, which are this same program with
// MULTIPROC_SERVE set, runs a Map of CPU-bound tasks on them, prints which host ran what
// and how long it took, and stops everything it started. On real machines the server runs
// somewhere, each worker machine runs the same binary with MULTIPROC_SERVE=nats://..., and
// the program creates its pool with cluster.At(url): see the README.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/multiproc/multiproc"
	"github.com/multiproc/multiproc/cluster"
	"github.com/nats-io/nats-server/v2/server"
)

// Where a task ran: the host process and the worker process under it.
type Where struct {
	Host, Worker int
	Sum          uint64
}

// work is a CPU-bound task of about 100ms.
var work = multiproc.Register("work", func(ctx context.Context, seed int) (Where, error) {
	x := uint64(seed)
	for deadline := time.Now().Add(100 * time.Millisecond); time.Now().Before(deadline); {
		for range 10_000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
		if ctx.Err() != nil {
			return Where{}, ctx.Err()
		}
	}
	return Where{Host: os.Getppid(), Worker: os.Getpid(), Sum: x}, nil
})

const hosts, workersPerHost, tasks = 2, 2, 16

func main() {
	multiproc.Main() // in a worker host (MULTIPROC_SERVE is set), serves until SIGTERM
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func run() error {
	start := time.Now()
	dir, err := os.MkdirTemp("", "multiproc-cluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT,
		JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		return err
	}
	go ns.Start()
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	if !ns.ReadyForConnections(10 * time.Second) {
		return fmt.Errorf("the NATS server did not start")
	}
	url := ns.ClientURL()
	fmt.Printf("NATS server with JetStream at %s\n", url)

	var hostCmds []*exec.Cmd
	defer func() { // SIGTERM: a host hands back what it holds and exits 0
		for _, cmd := range hostCmds {
			cmd.Process.Signal(syscall.SIGTERM)
		}
		for _, cmd := range hostCmds {
			if err := cmd.Wait(); err != nil {
				fmt.Fprintf(os.Stderr, "host %d: %v\n", cmd.Process.Pid, err)
			}
		}
	}()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	for range hosts {
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(), "MULTIPROC_SERVE="+url, "MULTIPROC_PROCESSES="+strconv.Itoa(workersPerHost))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		hostCmds = append(hostCmds, cmd)
		fmt.Printf("worker host %d started (%d worker processes)\n", cmd.Process.Pid, workersPerHost)
	}

	pool, err := multiproc.NewPool(cluster.At(url))
	if err != nil {
		return err
	}
	defer pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for pool.Stats().Workers < hosts*workersPerHost { // the hosts say they are there every second
		if ctx.Err() != nil {
			return fmt.Errorf("the hosts did not come: %w", ctx.Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Printf("ready after %v\n", time.Since(start).Round(time.Millisecond))

	seeds := make([]int, tasks)
	for i := range seeds {
		seeds[i] = i
	}
	mapStart := time.Now()
	out, err := multiproc.Map(ctx, pool, work, seeds, multiproc.ChunkSize(1))
	if err != nil {
		return err
	}
	elapsed := time.Since(mapStart)
	perHost := map[int]int{}
	for i, w := range out {
		fmt.Printf("task %2d ran on host %d, worker %d\n", i, w.Host, w.Worker)
		perHost[w.Host]++
	}
	for _, cmd := range hostCmds {
		fmt.Printf("host %d ran %d tasks\n", cmd.Process.Pid, perHost[cmd.Process.Pid])
	}
	fmt.Printf("%d tasks of 100ms on %d hosts × %d workers in %v\n", tasks, hosts, workersPerHost, elapsed.Round(time.Millisecond))
	return nil
}
