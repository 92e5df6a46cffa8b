//go:build unix && !linux

package multiproc_test

import (
	"errors"
	"testing"

	"github.com/multiproc/multiproc"
)

// Memory limits are refused where they cannot be enforced, not ignored.
func TestMemoryOptionsUnsupported(t *testing.T) {
	for name, opt := range map[string]multiproc.Option{
		"MemoryLimit":     multiproc.MemoryLimit(256 << 20),
		"MaxWorkerMemory": multiproc.MaxWorkerMemory(256 << 20),
	} {
		if _, err := multiproc.NewPool(opt); !errors.Is(err, multiproc.ErrInvalidOption) {
			t.Errorf("NewPool(%s): %v, want ErrInvalidOption", name, err)
		}
	}
}
