//go:build unix

package multiproc_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
)

// A process a task starts in a process group of its own, with the worker's stderr, outlives
// the worker; it must not make the pool wait for it, nor hide the worker's death.

// Orphan is what leaveOrphan is asked to do: start `sleep 30` in a group of its own, write
// its pid to PidFile, and then return, or end the worker.
type Orphan struct {
	PidFile string
	Die     bool
}

var leaveOrphan = multiproc.Register("test.leaveOrphan", func(_ context.Context, o Orphan) (int, error) {
	cmd := exec.Command("sleep", "30")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	if err := os.WriteFile(o.PidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o600); err != nil {
		return 0, err
	}
	if o.Die {
		os.Exit(5)
	}
	return cmd.Process.Pid, nil
})

// killOrphan ends the process whose pid the task wrote, at the end of the test.
func killOrphan(t *testing.T, pidFile string) {
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(string(b)); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
}

func TestCloseDoesNotWaitForOrphans(t *testing.T) {
	t.Parallel()
	for _, stop := range []string{"Close", "Terminate"} {
		t.Run(stop, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			killOrphan(t, pidFile)
			p := newPool(t, multiproc.Processes(1))
			if _, err := multiproc.Apply(ctxFor(t), p, leaveOrphan, Orphan{PidFile: pidFile}); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				if stop == "Close" {
					done <- p.Close()
				} else {
					done <- p.Terminate()
				}
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s: %v", stop, err)
				}
			case <-time.After(10 * time.Second): // the orphan sleeps 30 s
				t.Fatalf("%s still waiting after 10 s, for a process the worker left behind", stop)
			}
		})
	}
}

func TestDeathNoticedDespiteOrphan(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	killOrphan(t, pidFile)
	p := newPool(t, multiproc.Processes(1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // the orphan sleeps 30 s
	defer cancel()
	_, err := multiproc.Apply(ctx, p, leaveOrphan, Orphan{PidFile: pidFile, Die: true})
	if we := asWorkerError(t, err); we.ExitCode != 5 {
		t.Errorf("exit code %d, want 5", we.ExitCode)
	}
}
