//go:build unix && (!linux || multiproc_portable)

package spawn

import "syscall"

// sysProcAttr puts the worker in a process group of its own. There is no parent-death signal
// here: a worker leaves when its control socket reaches its end, or when its parent pid
// changes (see watchParent).
func sysProcAttr(cfg Config) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
