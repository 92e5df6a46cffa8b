package procid

import "golang.org/x/sys/unix"

const zombie = 5 // SZOMB

// startTag returns the low 32 bits of the process's start time in microseconds, and false if
// there is no such process or it is a zombie.
func startTag(pid int) (uint32, bool) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil || int(kp.Proc.P_pid) != pid || kp.Proc.P_stat == zombie {
		return 0, false
	}
	t := kp.Proc.P_starttime
	return uint32(uint64(t.Sec)*1e6 + uint64(t.Usec)), true
}
