// Package exampletest builds an example program and runs it the way a user
// would, so that the examples' tests check the real binary: its re-executions
// as workers, its stdout shared with them, and its exit code.
package exampletest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// waitDelay bounds how long Run waits for the program's stdout and stderr to
// close after the program itself has exited. Workers share those pipes, so
// reaching it means a worker outlived its parent.
const waitDelay = 10 * time.Second

// Build compiles the package in the test's working directory (the example's
// own folder) into a temporary directory and returns the binary's path. Under
// `go test -race` the program is built with -race too, so the example's code
// and the library's run under the race detector in parent and workers alike.
// Building once and running the binary is much faster than `go run`.
func Build(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), filepath.Base(dir))
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, ".")

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	// `go test` puts its own go command first on PATH, so this is the same toolchain.
	out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, out)
	}
	return bin
}

// Result is what a finished run of the program produced.
type Result struct {
	Stdout, Stderr string
	Err            error // nil when the program exited with status 0
}

// Run runs bin with args, killing it if it has not finished within timeout,
// and returns its output. It fails the test if the program could not be
// started, did not finish in time, or left a process holding its output open
// after it exited.
func Run(t testing.TB, timeout time.Duration, bin string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()

	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = waitDelay
	err := cmd.Run()

	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %v did not finish within %v: %v\nstdout:\n%s\nstderr:\n%s",
			filepath.Base(bin), args, timeout, err, &stdout, &stderr)
	case errors.Is(err, exec.ErrWaitDelay):
		t.Fatalf("%s %v exited, but its stdout or stderr stayed open %v longer: a worker outlived its parent\nstdout:\n%s\nstderr:\n%s",
			filepath.Base(bin), args, waitDelay, &stdout, &stderr)
	case err != nil && !errors.As(err, &exitErr):
		t.Fatalf("%s %v: %v", filepath.Base(bin), args, err)
	}
	return Result{Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
}

// RunExample builds the example in the test's working directory, runs it once without
// arguments (for a minute at most), and returns its output; it fails the test if the program
// did not exit with status 0.
func RunExample(t testing.TB) Result {
	t.Helper()
	bin := Build(t)
	res := Run(t, time.Minute, bin)
	if res.Err != nil {
		t.Fatalf("%s: %v\nstderr:\n%s", filepath.Base(bin), res.Err, res.Stderr)
	}
	return res
}

// WantStdout fails the test unless the program wrote exactly want on its stdout.
func (r Result) WantStdout(t testing.TB, want string) {
	t.Helper()
	if r.Stdout != want {
		t.Errorf("stdout = %q, want %q\nstderr:\n%s", r.Stdout, want, r.Stderr)
	}
}
