//go:build !linux

package shmqueue

import "golang.org/x/sys/unix"

// alive reports whether the process pid exists (a zombie counts as alive here).
func alive(pid uint32) bool { return unix.Kill(int(pid), 0) != unix.ESRCH }
