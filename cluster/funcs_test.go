package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/multiproc/multiproc"
)

// where describes where a task ran.
type where struct {
	Tag     string // the host's CLUSTER_TEST_TAG
	HostPid int    // the host process
	Pid     int    // the worker process
	Attempt int
}

var (
	square  = multiproc.Register("square", func(_ context.Context, x int) (int, error) { return x * x, nil })
	whereAt = multiproc.Register("where", func(ctx context.Context, d time.Duration) (where, error) {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return where{}, ctx.Err()
		}
		return where{Tag: os.Getenv(envTestTag), HostPid: os.Getppid(), Pid: os.Getpid(), Attempt: multiproc.Attempt(ctx)}, nil
	})
	failing = multiproc.Register("failing", func(_ context.Context, x int) (int, error) {
		if x == 3 {
			return 0, fmt.Errorf("opening input %d: %w", x, fs.ErrNotExist)
		}
		return x, nil
	})
	panicking = multiproc.Register("panicking", func(_ context.Context, _ int) (int, error) { panic("boom") })
	exiting   = multiproc.Register("exiting", func(ctx context.Context, code int) (int, error) {
		if multiproc.Attempt(ctx) <= 1 || code < 0 {
			os.Exit(max(code, 3))
		}
		return multiproc.Attempt(ctx), nil
	})
	stubborn = multiproc.Register("stubborn", func(ctx context.Context, d time.Duration) (string, error) {
		time.Sleep(d) // ignores its ctx: only a kill stops it
		return "done", nil
	})
	polite = multiproc.Register("polite", func(ctx context.Context, d time.Duration) (string, error) {
		select {
		case <-time.After(d):
			return "done", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
	echo = multiproc.Register("echo", func(_ context.Context, b []byte) ([]byte, error) {
		out := make([]byte, len(b))
		for i, c := range b {
			out[i] = c + 1
		}
		return out, nil
	})
)

var errSentinel = errors.New("cluster test: a registered sentinel")

func init() { multiproc.RegisterError(errSentinel) }
