//go:build unix && (!linux || multiproc_portable)

package peermem

import (
	"errors"
	"os"
	"testing"
)

// Without the calls, nothing is copied between processes, and a parent's Probe says so:
// large values then travel through the rings.
func TestNoCalls(t *testing.T) {
	buf := make([]byte, 16)
	if err := Read(os.Getpid(), buf, 8); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Read: %v, want errors.ErrUnsupported", err)
	}
	if err := Write(os.Getpid(), 8, buf); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Write: %v, want errors.ErrUnsupported", err)
	}
	if a, v := Token(); Probe(os.Getpid(), a, v) {
		t.Error("Probe of this process's own token succeeded")
	}
}
