//go:build unix

package multiproc_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Workers never outlive their parent, even when it is killed with SIGKILL.
func TestNoOrphansWhenTheParentIsKilled(t *testing.T) {
	h := startHelper(t, "orphan")
	if err := h.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	h.cmd.Wait()
	for _, pid := range h.pids {
		eventually(t, time.Second, "worker exits after its parent died", func() bool { return !alive(pid) })
	}
}

// A Ctrl-C reaches the terminal's whole foreground process group. Workers are in groups of
// their own, so they live on and the parent decides: here signal.NotifyContext cancels its Map.
func TestCtrlCIsTheParentsToHandle(t *testing.T) {
	h := startHelper(t, "sigint-handled")
	if err := syscall.Kill(-h.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if line := h.line(t); line != "map: context canceled" {
		t.Fatalf("after Ctrl-C the helper said %q", line)
	}
	for _, pid := range h.pids {
		if !alive(pid) {
			t.Fatalf("worker %d died of the terminal's SIGINT", pid)
		}
	}
	h.in.Write([]byte("close\n"))
	line := h.line(t)
	if !strings.HasPrefix(line, "closed in ") {
		t.Fatalf("helper said %q", line)
	}
	d, err := time.ParseDuration(strings.TrimPrefix(line, "closed in "))
	if err != nil || d > 3*time.Second {
		t.Fatalf("Close after Ctrl-C took %v (%v)", d, err)
	}
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("helper exited with %v", err)
	}
	for _, pid := range h.pids {
		eventually(t, time.Second, "worker exits after Close", func() bool { return !alive(pid) })
	}
}

// With no handler, Ctrl-C kills the parent, and its workers follow.
func TestCtrlCWithoutHandlerEndsEverything(t *testing.T) {
	h := startHelper(t, "sigint-default")
	if err := syscall.Kill(-h.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := h.cmd.Wait()
	if ws, ok := h.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGINT {
		t.Fatalf("helper ended with %v, want death by SIGINT", err)
	}
	for _, pid := range h.pids {
		eventually(t, time.Second, "worker exits after its parent died", func() bool { return !alive(pid) })
	}
}

// A program that forgets multiproc.Main gets an error that names it, quickly, and its workers
// do not run its main past the pool they reach.
func TestForgottenMain(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "nomain")
	build := exec.Command("go", "build", "-o", bin, "./testdata/nomain")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building testdata/nomain: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, bin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		t.Fatal("a program without Main hung")
	}
	if err == nil {
		t.Fatalf("a program without Main succeeded:\n%s", out)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the error took %v", d)
	}
	s := string(out)
	if !strings.Contains(s, "error: ") || !strings.Contains(s, "multiproc.Main") {
		t.Fatalf("output does not name multiproc.Main:\n%s", s)
	}
	if strings.Contains(s, "after pool") {
		t.Fatalf("a worker ran main past NewPool:\n%s", s)
	}
	if n := strings.Count(s, "before pool"); n > 3 {
		t.Fatalf("main ran %d times: workers respawned", n)
	}
	if !strings.Contains(stderr.String(), "multiproc.Main()") {
		t.Fatalf("the workers' stderr does not say what is wrong:\n%s", stderr.String())
	}
}
