package worker

import (
	"fmt"
	"os"
	"strconv"

	"github.com/multiproc/multiproc/internal/footprint"
	"github.com/multiproc/multiproc/internal/memlimit"
	"github.com/multiproc/multiproc/internal/ring"
	"github.com/multiproc/multiproc/internal/spawn"
	"github.com/multiproc/multiproc/internal/wire"
)

// Main turns a process started as a worker (internal/spawn) into one: it checks the protocol
// version its parent speaks, applies its memory limit, maps the status page and the rings
// its parent passed, and serves tasks with cfg until the parent says Exit or goes away; then it
// exits the process. In any other process it returns at once.
func Main(cfg Config) {
	version := os.Getenv(spawn.EnvWorker)
	if version == "" {
		return
	}
	if version != strconv.Itoa(wire.Version) {
		fmt.Fprintf(os.Stderr, "multiproc: worker protocol %s, this binary speaks %d\n", version, wire.Version)
		os.Exit(3)
	}
	name := os.Getenv(spawn.EnvName)
	// Processes a task starts must not take themselves for workers.
	for _, k := range []string{spawn.EnvWorker, spawn.EnvName, spawn.EnvIdentity, spawn.EnvParent} {
		os.Unsetenv(k)
	}
	// Before anything allocates much: RLIMIT_DATA and the GC's limit, when MemoryLimit is set.
	if _, err := memlimit.ApplyFromEnv(); err != nil {
		fail(err)
	}
	if cfg.Started != nil {
		cfg.Started(name)
	}
	page, err := spawn.MapStatus(spawn.StatusFD)
	if err != nil {
		fail(err)
	}
	rings, err := ring.Open(spawn.RingsFD)
	if err != nil {
		fail(err)
	}
	// Start-up is over: drop the pages of code and read-only data it alone used (they are
	// shared with the parent; the ones tasks use come back at a minor fault each).
	footprint.Trim()
	conn, err := spawn.OpenConn()
	if err != nil {
		fail(err)
	}
	serve(cfg, links{conn: conn, rings: rings, status: wire.NewStatus(page), peer: wire.PeerTableIn(page),
		identity: spawn.Identity()})
}

// fail ends a worker that could not start serving.
func fail(err error) {
	fmt.Fprintln(os.Stderr, "multiproc:", err)
	os.Exit(3)
}

// ExitIfWorker ends this process, saying why, if it was started as a worker: it is called
// where a program starts workers of its own, which a worker whose program forgot to call Main
// first would otherwise do, again and again.
func ExitIfWorker() {
	if os.Getenv(spawn.EnvWorker) != "" {
		spawn.FailNoMain()
	}
}
