//go:build linux && !multiproc_portable

package engine

import (
	"errors"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/multiproc/multiproc/internal/wire"
)

// Fetch reads a lent output from the worker's memory (here, this process's own); an address
// the worker does not have, or a length over MaxFrame, is a protocol error that allocates
// nothing like what was claimed; a worker that has ended is errWorkerGone.
func TestPeerLinkFetch(t *testing.T) {
	p := &peerLink{pid: os.Getpid(), moved: new(atomic.Int64)}
	src := make([]byte, wire.RefMin)
	for i := range src {
		src[i] = byte(i % 249)
	}
	got, err := p.Fetch(uint64(uintptr(unsafe.Pointer(&src[0]))), len(src))
	if err != nil || string(got) != string(src) || !p.pulled || p.moved.Load() != int64(len(src)) {
		t.Fatalf("Fetch: %d bytes, %v (pulled %v, moved %d)", len(got), err, p.pulled, p.moved.Load())
	}

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := p.Fetch(4096, 512<<20); !errors.Is(err, wire.ErrProtocol) {
		t.Errorf("Fetch of memory the worker does not have: %v, want ErrProtocol", err)
	}
	if _, err := p.Fetch(uint64(uintptr(unsafe.Pointer(&src[0]))), wire.MaxFrame+1); !errors.Is(err, wire.ErrProtocol) {
		t.Errorf("Fetch over MaxFrame: %v, want ErrProtocol", err)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("refused Fetches allocated %d bytes", grew)
	}

	gone := &peerLink{pid: 0x7ffffff0, moved: new(atomic.Int64)}
	if _, err := gone.Fetch(uint64(uintptr(unsafe.Pointer(&src[0]))), len(src)); !errors.Is(err, errWorkerGone) {
		t.Errorf("Fetch from a process that is gone: %v, want errWorkerGone", err)
	}
}
