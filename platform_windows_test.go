package multiproc_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/multiproc/multiproc"
)

func TestMain(m *testing.M) {
	multiproc.Main() // returns at once: there are no workers here
	os.Exit(m.Run())
}

var double = multiproc.Register("windows.double", func(_ context.Context, x int) (int, error) {
	return 2 * x, nil
})

// A cross-platform program learns at once that it must fall back to goroutines.
func TestWindowsUnsupported(t *testing.T) {
	_, err := multiproc.NewPool(multiproc.Processes(2))
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "Windows") {
		t.Errorf("NewPool: %v, want an error wrapping errors.ErrUnsupported that names Windows", err)
	}
	if _, err := multiproc.Start(context.Background(), double, 1); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Start: %v, want an error wrapping errors.ErrUnsupported", err)
	}
}
