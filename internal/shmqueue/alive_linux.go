package shmqueue

import (
	"bytes"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// alive reports whether the process pid is running: a zombie, killed but not yet reaped by
// its parent, is dead.
func alive(pid uint32) bool {
	if unix.Kill(int(pid), 0) == unix.ESRCH {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/stat")
	if err != nil {
		return !os.IsNotExist(err)
	}
	// The state follows the command's name, which is in parentheses and may hold any byte.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z' && b[i+2] != 'X'
	}
	return true
}
