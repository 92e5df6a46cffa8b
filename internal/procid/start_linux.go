package procid

import (
	"bytes"
	"os"
	"strconv"
)

// startTag returns the low 32 bits of the process's start time in clock ticks since boot
// (field 22 of /proc/PID/stat), and false if there is no such process or it is a zombie.
func startTag(pid int) (uint32, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name (field 2) is in parentheses and may hold anything: fields 3 on
	// start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 20 {
		return 0, false
	}
	if s := fields[0]; len(s) == 1 && (s[0] == 'Z' || s[0] == 'X') {
		return 0, false
	}
	start, err := strconv.ParseUint(string(fields[19]), 10, 64) // field 22
	if err != nil {
		return 0, false
	}
	return uint32(start), true
}
