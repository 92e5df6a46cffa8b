//go:build unix

package spawn

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/multiproc/multiproc/internal/syncbuf"
)

// envMode tells the test binary, started as a worker, what to do instead of serving.
const envMode = "SPAWN_TEST_MODE"

// playRole, when a test file sets it, plays a part the environment asks of the test binary.
var playRole func()

func TestMain(m *testing.M) {
	if playRole != nil {
		playRole()
	}
	if os.Getenv(EnvWorker) != "" {
		actAsWorker(os.Getenv(envMode))
		return
	}
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/multiproc/multiproc/internal/spawn.forkThread"))
}

// actAsWorker plays a worker that leaves a process of its own behind, holding its stderr.
func actAsWorker(mode string) {
	var cmd *exec.Cmd
	switch mode {
	case "sleeper":
		cmd = exec.Command("sleep", "30")
	case "chatter": // writes to stderr for as long as it lives
		cmd = exec.Command("sh", "-c", "while :; do echo chatter >&2; done")
	default:
		os.Exit(2)
	}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "grandchild %d\n", cmd.Process.Pid)
	fmt.Fprintln(os.Stderr, "the last line")
	os.Exit(7)
}

var grandchildLine = regexp.MustCompile(`grandchild (\d+)`)

// A worker's end is its process's end: a process it started in a group of its own, holding
// its stderr, neither delays Done nor loses what the worker wrote.
func TestDoneDoesNotWaitForGrandchildren(t *testing.T) {
	for _, mode := range []string{"sleeper", "chatter"} {
		t.Run(mode, func(t *testing.T) {
			var stderr syncbuf.Buffer
			c, err := Start(Config{Name: "t", Stderr: &stderr, Env: []string{envMode + "=" + mode}})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-c.Done():
			case <-time.After(10 * time.Second):
				// The grandchild lives 30 s, or for ever: Done must not wait for it.
				t.Error("Done not within 10 s of the worker's exit")
			}
			if m := grandchildLine.FindStringSubmatch(stderr.String()); m != nil {
				pid, _ := strconv.Atoi(m[1])
				syscall.Kill(pid, syscall.SIGKILL)
			}
			<-c.Done()
			if code, sig := c.Exit(); code != 7 || sig != 0 {
				t.Errorf("exit %d, signal %v; want 7", code, sig)
			}
			if !strings.Contains(stderr.String(), "the last line\n") {
				t.Errorf("stderr lost the worker's last line: %q", clip(stderr.String()))
			}
			if !strings.Contains(c.StderrTail(), "grandchild ") && mode == "sleeper" {
				t.Errorf("the tail lost the worker's lines: %q", c.StderrTail())
			}
		})
	}
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:100] + "..." + s[len(s)-100:]
	}
	return s
}
