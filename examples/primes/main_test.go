package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
	"github.com/multiproc/multiproc/examples/internal/exampletest"
)

// TestMain makes this test binary able to serve as a worker, as every program
// using multiproc must: TestCountPrimesOnPool's pool re-executes it.
func TestMain(m *testing.M) {
	multiproc.Main()
	os.Exit(m.Run())
}

// π(200000) = 17984: small enough to run in a blink, large enough to spread
// 16 ranges over the workers.
const (
	smallN, smallRanges = 200000, 16
	smallCount          = 17984
)

// TestPrimes runs the built program as a user would.
func TestPrimes(t *testing.T) {
	t.Parallel()
	bin := exampletest.Build(t)
	small := []string{fmt.Sprint("-n=", smallN), fmt.Sprint("-ranges=", smallRanges), "-workers=2"}

	for name, args := range map[string][]string{
		"counts agree":               small,
		"counts agree with progress": append(small[:len(small):len(small)], "-progress"),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res := exampletest.Run(t, 2*time.Minute, bin, args...)
			if res.Err != nil {
				t.Fatalf("primes %v: %v\nstdout:\n%s\nstderr:\n%s", args, res.Err, res.Stdout, res.Stderr)
			}
			if !strings.Contains(res.Stdout, "counts agree") {
				t.Errorf("primes %v: stdout lacks %q:\n%s", args, "counts agree", res.Stdout)
			}
			// Both the serial and the pool line carry the known count.
			want := fmt.Sprintf("%d primes", smallCount)
			if n := strings.Count(res.Stdout, want); n != 2 {
				t.Errorf("primes %v: %q appears %d times in stdout, want 2:\n%s", args, want, n, res.Stdout)
			}
		})
	}

	t.Run("rejects -workers=0", func(t *testing.T) {
		t.Parallel()
		res := exampletest.Run(t, time.Minute, bin, "-n=1000", "-workers=0")
		if res.Err == nil {
			t.Fatalf("primes -workers=0 exited 0; want a failure\nstdout:\n%s", res.Stdout)
		}
		if !strings.Contains(res.Stderr, "primes: ") {
			t.Errorf("stderr = %q, want the error prefixed with %q", res.Stderr, "primes: ")
		}
	})
}

// TestCountPrimesOnPool runs the job's pool half inside this test process,
// the way a program's own tests would exercise its registered functions.
func TestCountPrimesOnPool(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	pool, err := multiproc.NewPool(multiproc.Processes(2))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	counts, err := multiproc.Map(ctx, pool, countPrimesFunc, split(smallN, smallRanges))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	if total != smallCount {
		t.Errorf("pool counted %d primes below %d, want %d", total, smallN, smallCount)
	}
	if err := pool.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestSplit checks that the ranges cover [0, n) exactly once, whatever n and k.
func TestSplit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ n, k int }{{0, 1}, {10, 3}, {5, 8}, {smallN, 64}} {
		next := 0
		for _, r := range split(tc.n, tc.k) {
			if r.Lo != next || r.Hi < r.Lo {
				t.Fatalf("split(%d, %d): range %v after %d", tc.n, tc.k, r, next)
			}
			next = r.Hi
		}
		if next != tc.n {
			t.Errorf("split(%d, %d) ends at %d", tc.n, tc.k, next)
		}
	}
}
