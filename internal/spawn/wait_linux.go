//go:build !multiproc_portable

package spawn

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// awaitExit waits until the worker has ended, and leaves it unreaped (nil): a zombie's pid and
// process group cannot be reused while the group is killed.
func awaitExit(p *os.Process) *os.ProcessState {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, p.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err == nil || !errors.Is(err, syscall.EINTR) {
			return nil
		}
	}
}
