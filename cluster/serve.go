package cluster

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/multiproc/multiproc"
	"github.com/multiproc/multiproc/internal/hostwork"
)

// The environment that makes multiproc.Main serve as a worker host (see serveFromEnv).
const (
	envServe     = hostwork.EnvServe // the server's url
	envProcesses = "MULTIPROC_PROCESSES"
	envName      = "MULTIPROC_NAME"
	envLostAfter = "MULTIPROC_LOST_AFTER" // LostAfter, as time.ParseDuration reads it
)

func init() { hostwork.Serve = serveFromEnv }

// serveFromEnv is Serve as the environment describes it, until SIGTERM or SIGINT; it returns
// the process's exit code.
func serveFromEnv() int {
	var opts []Option
	if s := os.Getenv(envProcesses); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "multiproc: %s=%q: not a number\n", envProcesses, s)
			return 2
		}
		opts = append(opts, Workers(multiproc.Processes(n)))
	}
	if s := os.Getenv(envName); s != "" {
		opts = append(opts, Name(s))
	}
	if s := os.Getenv(envLostAfter); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "multiproc: %s=%q: not a duration\n", envLostAfter, s)
			return 2
		}
		opts = append(opts, LostAfter(d))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := Serve(ctx, os.Getenv(envServe), opts...); err != nil {
		fmt.Fprintln(os.Stderr, "multiproc:", err)
		return 1
	}
	return 0
}
