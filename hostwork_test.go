//go:build unix

package multiproc_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestServeWithoutCluster: a program that does not import the cluster package, started with
// MULTIPROC_SERVE, exits with a message saying so instead of running as usual.
func TestServeWithoutCluster(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestNothing$")
	cmd.Env = append(os.Environ(), "MULTIPROC_SERVE=nats://127.0.0.1:4222")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit: %v, want status 2; stderr: %s", err, &stderr)
	}
	if !strings.Contains(stderr.String(), "does not import github.com/multiproc/multiproc/cluster") {
		t.Fatalf("stderr: %q", &stderr)
	}
}
