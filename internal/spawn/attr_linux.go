//go:build !multiproc_portable

package spawn

import "syscall"

// sysProcAttr puts the worker in a process group of its own, has the kernel kill it when its
// parent dies (Pdeathsig; see start_linux.go for the thread it is started from), and starts it
// in its memory limit's cgroup, if any.
func sysProcAttr(cfg Config) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL,
		UseCgroupFD: cfg.UseCgroup, CgroupFD: cfg.CgroupFD}
}
