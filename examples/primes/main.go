// Command primes is multiproc's main example: a CPU-bound job run twice, once
// serially in this process and once on a pool of worker processes, with both
// times, both answers and the speedup printed.
//
// The job counts the primes below -n by trial division, split into -ranges
// contiguous ranges. Trial division costs more the larger the numbers, so the
// ranges are uneven work: the pool hands them out one at a time, and a worker
// that finishes early takes the next.
//
// Run it with:
//
//	go run ./examples/primes
//	go run ./examples/primes -n 2000000 -ranges 16 -workers 2 -progress
//
// It exits non-zero if the two counts differ. Ctrl-C stops both runs: the
// terminal's interrupt reaches only this process, which cancels the work.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/multiproc/multiproc"
)

// Range is the half-open interval [Lo, Hi). Its fields are exported because
// it travels to the workers with encoding/gob.
type Range struct {
	Lo, Hi int
}

// countPrimesFunc is the registered form of countPrimes that the pool runs.
// The serial run calls countPrimes directly, so both runs do the same work.
var countPrimesFunc = multiproc.Register("countPrimes", countPrimes)

// countPrimes returns the number of primes in r. It looks at ctx every few
// thousand numbers so that cancelling stops it promptly and cooperatively,
// before the pool would have to kill its worker.
func countPrimes(ctx context.Context, r Range) (int, error) {
	count := 0
	for n := r.Lo; n < r.Hi; n++ {
		if n%(1<<14) == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		if isPrime(n) {
			count++
		}
	}
	return count, nil
}

// isPrime is plain trial division: deliberately CPU-bound.
func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	if n%2 == 0 {
		return n == 2
	}
	for d := 3; d*d <= n; d += 2 {
		if n%d == 0 {
			return false
		}
	}
	return true
}

// split cuts [0, n) into k contiguous ranges whose sizes differ by at most one.
func split(n, k int) []Range {
	ranges := make([]Range, k)
	for i := range ranges {
		ranges[i] = Range{Lo: n * i / k, Hi: n * (i + 1) / k}
	}
	return ranges
}

type config struct {
	n, ranges, workers int
	progress           bool
}

func main() {
	// First statement: a worker process is this same binary run again, and
	// Main turns it into a worker before any flag parsing or printing below.
	multiproc.Main()

	var cfg config
	// The default n makes the serial run take a few seconds on one core.
	flag.IntVar(&cfg.n, "n", 12_000_000, "count the primes below `n`")
	flag.IntVar(&cfg.ranges, "ranges", 64, "split the work into `k` ranges (tasks)")
	flag.IntVar(&cfg.workers, "workers", runtime.NumCPU(), "worker processes in the pool")
	flag.BoolVar(&cfg.progress, "progress", false, "show a progress bar of the pool run on stderr")
	flag.Parse()

	// The terminal's Ctrl-C goes to this process only (workers run in their
	// own process group); cancelling ctx is how it reaches the work.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "primes:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	if cfg.n < 0 {
		return fmt.Errorf("-n %d: must not be negative", cfg.n)
	}
	if cfg.ranges < 1 {
		return fmt.Errorf("-ranges %d: must be at least 1", cfg.ranges)
	}
	ranges := split(cfg.n, cfg.ranges)
	fmt.Printf("counting primes below %d in %d ranges\n", cfg.n, len(ranges))

	// Serial: the same function, called in this process one range at a time.
	start := time.Now()
	serialCount := 0
	for _, r := range ranges {
		c, err := countPrimes(ctx, r)
		if err != nil {
			return err
		}
		serialCount += c
	}
	serial := time.Since(start)
	fmt.Printf("serial:   %d primes in %v (this process)\n", serialCount, serial.Round(time.Millisecond))

	// Parallel: the same ranges on a pool. An invalid -workers is reported by
	// NewPool as an error wrapping multiproc.ErrInvalidOption.
	start = time.Now()
	pool, err := multiproc.NewPool(multiproc.Processes(cfg.workers))
	if err != nil {
		return err
	}
	defer pool.Close()
	poolStart := time.Since(start)

	// Each range is a big task, so send them one at a time: that balances the
	// uneven ranges across the workers at a small cost per task.
	opts := []multiproc.MapOption{multiproc.ChunkSize(1)}
	if cfg.progress {
		opts = append(opts, multiproc.Progress(os.Stderr))
	}
	start = time.Now()
	counts, err := multiproc.Map(ctx, pool, countPrimesFunc, ranges, opts...)
	if err != nil {
		return err
	}
	parallel := time.Since(start)
	poolCount := 0
	for _, c := range counts {
		poolCount += c
	}
	fmt.Printf("pool:     %d primes in %v (%d worker processes; NewPool took %v)\n",
		poolCount, parallel.Round(time.Millisecond), pool.Size(), poolStart.Round(time.Millisecond))

	if poolCount != serialCount {
		return fmt.Errorf("counts DISAGREE: the serial run found %d primes, the pool %d", serialCount, poolCount)
	}
	if parallel > 0 {
		fmt.Printf("counts agree: speedup %.2fx\n", serial.Seconds()/parallel.Seconds())
	} else {
		fmt.Println("counts agree") // too quick to time: no meaningful speedup
	}
	return pool.Close()
}
