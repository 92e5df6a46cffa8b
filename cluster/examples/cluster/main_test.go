package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExample builds the program and runs it as a user would: it starts its server and
// hosts, runs the Map on both hosts, and stops everything (its output closes when it exits:
// no host or worker outlives it).
func TestExample(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "cluster")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.WaitDelay = 10 * time.Second
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{"NATS server with JetStream at nats://127.0.0.1:", "task 15 ran on host", "16 tasks of 100ms on 2 hosts"} {
		if !strings.Contains(s, want) {
			t.Errorf("the output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "exit status") || strings.Contains(s, "signal:") {
		t.Errorf("a host did not exit 0 on SIGTERM:\n%s", s)
	}
	hosts := 0
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "host ") && strings.Contains(line, " ran ") && !strings.Contains(line, " ran 0 tasks") {
			hosts++
		}
	}
	if hosts != 2 {
		t.Errorf("%d hosts ran tasks, want 2:\n%s", hosts, s)
	}
}
