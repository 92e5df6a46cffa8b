//go:build !unix

package shm

import (
	"errors"
	"testing"
)

func TestUnsupported(t *testing.T) {
	if _, err := Create("shm-test", 4096); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Create: %v, want errors.ErrUnsupported", err)
	}
	if _, err := Map(3, 4096); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Map: %v, want errors.ErrUnsupported", err)
	}
}
