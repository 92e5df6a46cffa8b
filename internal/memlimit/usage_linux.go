package memlimit

import (
	"fmt"
	"os"
	"strconv"
)

// pageSize converts statm's page counts to bytes.
var pageSize = int64(os.Getpagesize())

// Usage is a process's resident memory, from /proc/PID/statm.
type Usage struct {
	Resident int64 // bytes of the process's memory in RAM (RSS, what ps and top show)
	Shared   int64 // bytes of those backed by a file or shared memory (the binary, shm segments)
}

// Private is the resident memory that belongs to the process alone: Resident less Shared.
// It is what the Watchdog checks against the limit.
func (u Usage) Private() int64 { return u.Resident - u.Shared }

// ReadUsage reads the resident memory of process pid. It costs one open and read of a /proc
// file (a few µs); the Watchdog does the same without allocating.
func ReadUsage(pid int) (Usage, error) {
	var buf [statmBufSize]byte
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return Usage{}, fmt.Errorf(errPrefix+"reading memory of pid %d: %w", pid, err)
	}
	defer f.Close()
	n, err := f.ReadAt(buf[:], 0)
	if n == 0 && err != nil {
		return Usage{}, fmt.Errorf(errPrefix+"reading memory of pid %d: %w", pid, err)
	}
	u, ok := parseStatm(buf[:n])
	if !ok {
		return Usage{}, fmt.Errorf(errPrefix+"malformed /proc/%d/statm %q", pid, buf[:n])
	}
	return u, nil
}

// RSS returns the resident set size of process pid in bytes (Usage.Resident).
func RSS(pid int) (int64, error) {
	u, err := ReadUsage(pid)
	return u.Resident, err
}

// statmBufSize holds a statm line: seven decimal counts of at most 20 digits and their spaces.
const statmBufSize = 256

// parseStatm reads the second (resident) and third (shared) of statm's page counts
// "size resident shared text lib data dt". It does not allocate.
func parseStatm(b []byte) (Usage, bool) {
	var fields [3]int64
	field, digits := 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			fields[field] = fields[field]*10 + int64(c-'0')
			digits++
		case c == ' ' || c == '\n':
			if digits == 0 {
				return Usage{}, false
			}
			field, digits = field+1, 0
			if field == len(fields) {
				return Usage{Resident: fields[1] * pageSize, Shared: fields[2] * pageSize}, true
			}
		default:
			return Usage{}, false
		}
	}
	return Usage{}, false
}
