//go:build unix

package multiproc_test

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"
	"unsafe"
	"weak"

	"github.com/multiproc/multiproc"
)

// A pool keeps nothing of a call once it has returned: the caller's inputs and the results it
// dropped can be collected while the pool sits idle. Each case runs a call on ten 1 MiB
// values, small ones too (they travel another way), and keeps only weak pointers.

// blobs returns n slices of size bytes, and weak pointers to them.
func blobs(n, size int) ([][]byte, []weak.Pointer[byte]) {
	ins := make([][]byte, n)
	ws := make([]weak.Pointer[byte], n)
	for i := range ins {
		ins[i] = make([]byte, size)
		ins[i][0] = byte(i)
		ws[i] = weak.Make(unsafe.SliceData(ins[i]))
	}
	return ins, ws
}

func weakOf(b []byte) weak.Pointer[byte] { return weak.Make(unsafe.SliceData(b)) }

// collected polls, collecting garbage, until every weak pointer is nil.
func collected(t *testing.T, what string, ws []weak.Pointer[byte]) {
	t.Helper()
	eventually(t, 10*time.Second, what+": the values are collected once the call has returned", func() bool {
		runtime.GC()
		for _, w := range ws {
			if w.Value() != nil {
				return false
			}
		}
		return true
	})
}

var retainSizes = []struct {
	name string
	size int
	opts []multiproc.Option
}{{"1MiB", 1 << 20, nil}, {"1MiB-in-frames", 1 << 20, []multiproc.Option{multiproc.WithRingsOnly()}},
	{"small", 100, nil}}

func TestCallsKeepNothing(t *testing.T) {
	calls := []struct {
		name string
		run  func(ctx context.Context, p *multiproc.Pool, size int) ([]weak.Pointer[byte], error)
	}{
		{"Map", func(ctx context.Context, p *multiproc.Pool, size int) ([]weak.Pointer[byte], error) {
			ins, ws := blobs(10, size)
			outs, err := multiproc.Map(ctx, p, echoBytes, ins, multiproc.ChunkSize(3))
			for _, o := range outs {
				ws = append(ws, weakOf(o))
			}
			return ws, err
		}},
		{"Imap", func(ctx context.Context, p *multiproc.Pool, size int) ([]weak.Pointer[byte], error) {
			ins, ws := blobs(10, size)
			for o, err := range multiproc.Imap(ctx, p, echoBytes, slices.Values(ins)) {
				if err != nil {
					return nil, err
				}
				ws = append(ws, weakOf(o))
			}
			return ws, nil
		}},
		{"ImapUnordered", func(ctx context.Context, p *multiproc.Pool, size int) ([]weak.Pointer[byte], error) {
			ins, ws := blobs(10, size)
			for r := range multiproc.ImapUnordered(ctx, p, echoBytes, slices.Values(ins)) {
				if r.Err != nil {
					return nil, r.Err
				}
				ws = append(ws, weakOf(r.Value))
			}
			return ws, nil
		}},
		{"Apply", func(ctx context.Context, p *multiproc.Pool, size int) ([]weak.Pointer[byte], error) {
			ins, ws := blobs(1, size)
			o, err := multiproc.Apply(ctx, p, echoBytes, ins[0])
			return append(ws, weakOf(o)), err
		}},
		{"Submit", func(ctx context.Context, p *multiproc.Pool, size int) ([]weak.Pointer[byte], error) {
			ins, ws := blobs(1, size)
			o, err := multiproc.Submit(ctx, p, echoBytes, ins[0]).Wait(ctx)
			return append(ws, weakOf(o)), err
		}},
	}
	for _, size := range retainSizes {
		for _, c := range calls {
			t.Run(c.name+"/"+size.name, func(t *testing.T) {
				p := newPool(t, append([]multiproc.Option{multiproc.Processes(2)}, size.opts...)...)
				ws, err := c.run(ctxFor(t), p, size.size)
				if err != nil {
					t.Fatal(err)
				}
				collected(t, c.name, ws)
				runtime.KeepAlive(p)
			})
		}
	}
}

func TestStartKeepsNothing(t *testing.T) {
	for _, size := range retainSizes {
		if size.opts != nil {
			continue // a pool's option
		}
		t.Run(size.name, func(t *testing.T) {
			ctx := ctxFor(t)
			run := func() []weak.Pointer[byte] {
				ins, ws := blobs(1, size.size)
				proc, err := multiproc.Start(ctx, echoBytes, ins[0])
				if err != nil {
					t.Fatal(err)
				}
				o, err := proc.Wait(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return append(ws, weakOf(o))
			}
			collected(t, "Start", run())
		})
	}
}
