// Package hostwork holds the hooks between the root package and a package that runs a pool's
// tasks on other machines (cluster): the root's registry and value codecs are unexported, and
// a program that does not import such a package must not link what it needs.
package hostwork

import (
	"github.com/multiproc/multiproc/internal/backend"
	"github.com/multiproc/multiproc/internal/wire"
)

// EnvServe, when set to a server's url, makes multiproc.Main serve as a worker host of a
// cluster (see Serve) instead of returning.
const EnvServe = "MULTIPROC_SERVE"

// Serve is set by the cluster package when the program imports it: Main calls it when EnvServe
// is set, and exits with the code it returns.
var Serve func() int

// Batch is a function's inputs received from another machine, decoded with the function's
// codec, for a local pool to run. It is a backend.Work whose Finish calls Finished; a host
// encodes the outputs of the items that succeeded with EncodeOutputs.
type Batch interface {
	backend.Work
	EncodeOutputs(enc *wire.Encoder, lo, hi int) error
	Len() int
}

// Decode decodes count inputs of the function registered as name from dec and returns them as
// a Batch whose Finish calls finished. It is set by the root package. An unknown name is an
// error wrapping multiproc.ErrNotRegistered.
var Decode func(name string, dec *wire.Decoder, count int, finished func(lo, hi int, err error)) (Batch, error)

// Has reports whether the function name is registered in this binary. Set by the root package.
var Has func(name string) bool

// Run is a Batch whose items ran before on a host that vanished: Attempt is the attempt they
// are at (1 for a first run), which the local backend starts them at (backend.FirstAttempt).
type Run struct {
	Batch
	Attempt int
}

// FirstAttempt is what backend.FirstAttempt asks of a Work.
func (r *Run) FirstAttempt() int { return r.Attempt }
