package multiproc

import (
	"context"

	"github.com/multiproc/multiproc/internal/engine"
)

// backend is where a Pool's tasks run. Map, Imap, ImapUnordered, Apply and Submit know only
// this seam: jobs of items that a backend encodes, runs and reports on. The one backend today
// is local worker processes (internal/engine); a cluster backend would be another.
type backend interface {
	newJob(ctx context.Context, w engine.Work) (job, error)
	close(terminate bool)
	stats() engine.Stats
	idle() bool // whether some worker could take work now, for streams' adaptive chunks
	live() int  // how many workers are live
}

// job is one call's items on a backend.
type job interface {
	Submit(lo, hi int) // run items lo..hi-1 together
	Cancel(err error)  // fail the unfinished items with err and stop the running ones
	Release()          // the caller will submit no more
	// Expect, before Submit, says the caller will wait for the result at once; Await then
	// lends the caller's goroutine to fetch it, until done or stop is closed (see Apply).
	Expect()
	Await(done, stop <-chan struct{})
}

// localBackend runs tasks on worker processes of this machine.
type localBackend struct{ eng *engine.Engine }

func (b localBackend) newJob(ctx context.Context, w engine.Work) (job, error) {
	j, err := b.eng.NewJob(ctx, w)
	if err != nil {
		return nil, err
	}
	return j, nil
}

func (b localBackend) close(terminate bool) { b.eng.Close(terminate) }
func (b localBackend) stats() engine.Stats  { return b.eng.Stats() }
func (b localBackend) idle() bool           { return b.eng.Idle() }
func (b localBackend) live() int            { return b.eng.Live() }
