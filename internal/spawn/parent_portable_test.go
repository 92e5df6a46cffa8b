//go:build unix && (!linux || multiproc_portable)

package spawn

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The test binary re-executed with envRole set plays a part in TestWorkerLeavesOrphaned.
const envRole = "SPAWN_TEST_ROLE"

func init() { playRole = playOrphanRole }

// playOrphanRole plays the part envRole names, if any, and exits.
func playOrphanRole() {
	switch os.Getenv(envRole) {
	case "parent": // starts a watcher, tells its pid, and exits, leaving it orphaned
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envRole+"=watcher", EnvParent+"="+strconv.Itoa(os.Getpid()))
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(cmd.Process.Pid)
		os.Exit(0)
	case "watcher": // a worker whose control socket never ends: only its parent pid can tell
		watchParent()
		time.Sleep(time.Minute)
		os.Exit(3)
	}
}

// Without a parent-death signal, a worker whose parent died leaves when its parent pid
// changes, even if nothing else tells it.
func TestWorkerLeavesOrphaned(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envRole+"=parent")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	pid, err := strconv.Atoi(line[:len(line)-1])
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * parentPoll)
	for !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the orphaned worker %d is still there after %v", pid, 20*parentPoll)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
