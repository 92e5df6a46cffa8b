// Command clusterbench measures a pool on a cluster on one machine: an embedded NATS server
// with JetStream (file storage in a temporary directory), and two worker hosts of one worker
// process each, which are this program with MULTIPROC_SERVE set. It prints the rows of the
// cluster's table in docs/PERFORMANCE.md:
//
//	go -C cluster run ./cmd/clusterbench [-reps 5]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"

	"github.com/multiproc/multiproc"
	"github.com/multiproc/multiproc/cluster"
	"github.com/nats-io/nats-server/v2/server"
)

var (
	square = multiproc.Register("bench.square", func(_ context.Context, x int) (int, error) { return x * x, nil })
	burnF  = multiproc.Register("bench.burn", func(_ context.Context, n int64) (uint64, error) { return burn(n), nil })
)

const hosts = 2

func main() {
	multiproc.Main()
	reps := flag.Int("reps", 5, "repetitions of each measure (the median is reported)")
	mapN := flag.Int("map", 100_000, "trivial tasks in the Map")
	applies := flag.Int("apply", 500, "Apply calls per repetition")
	cpuTasks := flag.Int("cpu-tasks", 40, "busy tasks for the speedup")
	cpuTask := flag.Duration("cpu-task", 50*time.Millisecond, "how long one busy task runs")
	flag.Parse()
	if err := run(*reps, *mapN, *applies, *cpuTasks, *cpuTask); err != nil {
		fmt.Fprintln(os.Stderr, "clusterbench:", err)
		os.Exit(1)
	}
}

func run(reps, mapN, applies, cpuTasks int, cpuTask time.Duration) error {
	dir, err := os.MkdirTemp("", "clusterbench-")
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
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var cmds []*exec.Cmd
	defer func() {
		for _, c := range cmds {
			c.Process.Signal(syscall.SIGTERM)
			c.Wait()
		}
	}()
	for range hosts {
		c := exec.Command(self)
		c.Env = append(os.Environ(), "MULTIPROC_SERVE="+url, "MULTIPROC_PROCESSES=1")
		c.Stdout, c.Stderr = os.Stdout, os.Stderr
		if err := c.Start(); err != nil {
			return err
		}
		cmds = append(cmds, c)
	}
	p, err := multiproc.NewPool(cluster.At(url))
	if err != nil {
		return err
	}
	defer p.Close()
	ctx := context.Background()
	for deadline := time.Now().Add(time.Minute); p.Stats().Workers < hosts; {
		if time.Now().After(deadline) {
			return fmt.Errorf("the hosts did not come")
		}
		time.Sleep(20 * time.Millisecond)
	}

	fmt.Printf("| metric | median | runs | note |\n|---|---|---|---|\n")

	inputs := make([]int, mapN)
	for i := range inputs {
		inputs[i] = i
	}
	multiproc.Map(ctx, p, square, inputs) // warm up
	var rates []float64
	for range reps {
		t0 := time.Now()
		if _, err := multiproc.Map(ctx, p, square, inputs); err != nil {
			return err
		}
		rates = append(rates, float64(mapN)/time.Since(t0).Seconds())
	}
	fmt.Printf("| Map of %d trivial tasks, automatic chunks | %.2f M tasks/s | %d | %d messages each way |\n",
		mapN, median(rates)/1e6, reps, 4*p.Size())

	for range 20 {
		multiproc.Apply(ctx, p, square, 1)
	}
	var trips []float64
	for range reps {
		t0 := time.Now()
		for i := range applies {
			if _, err := multiproc.Apply(ctx, p, square, i); err != nil {
				return err
			}
		}
		trips = append(trips, float64(time.Since(t0).Microseconds())/float64(applies))
	}
	fmt.Printf("| Apply round trip | %.0f µs | %d | %d calls a run |\n", median(trips), reps, applies)

	iters := calibrate(cpuTask)
	work := slices.Repeat([]int64{iters}, cpuTasks)
	multiproc.Map(ctx, p, burnF, work[:hosts], multiproc.ChunkSize(1))
	var speedups, serials []float64
	for range reps {
		t0 := time.Now()
		for _, n := range work {
			sink += burn(n)
		}
		serial := time.Since(t0)
		t0 = time.Now()
		if _, err := multiproc.Map(ctx, p, burnF, work, multiproc.ChunkSize(1)); err != nil {
			return err
		}
		speedups = append(speedups, serial.Seconds()/time.Since(t0).Seconds())
		serials = append(serials, serial.Seconds()*1e3)
	}
	fmt.Printf("| CPU-bound speedup, %d hosts × 1 process, %d × %v tasks | %.2f× | %d | serial %.0f ms a run |\n",
		hosts, cpuTasks, cpuTask, median(speedups), reps, median(serials))
	return nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

var sink uint64

// burn is a deterministic busy loop: the same n is the same work in every process.
func burn(n int64) uint64 {
	x := uint64(1)
	for i := int64(0); i < n; i++ {
		x = x*6364136223846793005 + uint64(i)
		x ^= x >> 29
	}
	return x
}

// calibrate returns the n for which burn(n) runs for about d here.
func calibrate(d time.Duration) int64 {
	n := int64(1 << 16)
	for {
		t0 := time.Now()
		sink += burn(n)
		if time.Since(t0) > 20*time.Millisecond {
			break
		}
		n *= 2
	}
	best := time.Duration(1<<63 - 1)
	for range 5 {
		t0 := time.Now()
		sink += burn(n)
		best = min(best, time.Since(t0))
	}
	return max(1, int64(float64(n)*d.Seconds()/best.Seconds()))
}
