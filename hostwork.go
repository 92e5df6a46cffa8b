package multiproc

import (
	"fmt"
	"os"

	"github.com/multiproc/multiproc/internal/hostwork"
	"github.com/multiproc/multiproc/internal/wire"
)

// The hooks through which the cluster package runs, on a worker host, the batches that other
// machines send (see internal/hostwork): they are decoded with their function's codec and run
// on a local pool's backend as any other work.
func init() {
	hostwork.Decode = decodeRemote
	hostwork.Has = func(name string) bool { _, ok := lookup(name); return ok }
}

// serveIfAsked makes a program whose environment has MULTIPROC_SERVE a worker host, if it
// imports the cluster package, and exits; it returns if the variable is not set.
func serveIfAsked() {
	url := os.Getenv(hostwork.EnvServe)
	if url == "" {
		return
	}
	if hostwork.Serve == nil {
		fmt.Fprintf(os.Stderr, "multiproc: %s=%s is set, but this program does not import "+
			"github.com/multiproc/multiproc/cluster, so it cannot serve as a worker host\n", hostwork.EnvServe, url)
		os.Exit(2)
	}
	os.Exit(hostwork.Serve())
}

// remoteDecoder is what every handler is: it decodes a batch from another machine.
type remoteDecoder interface {
	decodeRemote(dec *wire.Decoder, count int, finished func(lo, hi int, err error)) (hostwork.Batch, error)
}

func decodeRemote(name string, dec *wire.Decoder, count int, finished func(lo, hi int, err error)) (hostwork.Batch, error) {
	h, ok := lookup(name)
	if !ok {
		return nil, &notRegisteredError{name}
	}
	return h.(remoteDecoder).decodeRemote(dec, count, finished)
}

func (h handler[In, Out]) decodeRemote(dec *wire.Decoder, count int, finished func(lo, hi int, err error)) (hostwork.Batch, error) {
	if err := h.f.usable(); err != nil {
		return nil, err
	}
	b := &remoteBatch[In, Out]{f: h.f, ins: make([]In, count), outs: make([]Out, count), finished: finished}
	if err := h.f.in.Decode(dec, b.ins); err != nil {
		return nil, err
	}
	return b, nil
}

// remoteBatch is a batch from another machine, run on this machine's workers: its inputs go
// to them and its outputs come back as for any call, then travel on.
type remoteBatch[In, Out any] struct {
	f        *Func[In, Out]
	ins      []In
	outs     []Out
	finished func(lo, hi int, err error)
}

func (b *remoteBatch[In, Out]) Func() string { return b.f.name }
func (b *remoteBatch[In, Out]) Len() int     { return len(b.ins) }

func (b *remoteBatch[In, Out]) EncodeInputs(enc *wire.Encoder, lo, hi int) error {
	return b.f.in.Encode(enc, b.ins[lo:hi])
}

func (b *remoteBatch[In, Out]) DecodeOutputs(dec *wire.Decoder, lo, hi int) error {
	return b.f.out.Decode(dec, b.outs[lo:hi])
}

func (b *remoteBatch[In, Out]) Finish(lo, hi int, err error) { b.finished(lo, hi, err) }

func (b *remoteBatch[In, Out]) EncodeOutputs(enc *wire.Encoder, lo, hi int) error {
	return b.f.out.Encode(enc, b.outs[lo:hi])
}
