package memlimit

import (
	"strings"
	"syscall"
	"testing"
)

func TestDeathMemoryLimit(t *testing.T) {
	goDump := "fatal error: runtime: out of memory\n\nruntime stack:\nruntime.throw(...)\n"
	tests := []struct {
		name string
		d    Death
		want bool
	}{
		{"watchdog", Death{ExitCode: -1, Signal: syscall.SIGKILL, KilledByWatchdog: true}, true},
		{"cgroup OOM kill", Death{ExitCode: -1, Signal: syscall.SIGKILL, OOMKills: 1}, true},
		{"OOM kill count but a clean exit", Death{ExitCode: 0, OOMKills: 1}, false},
		{"rlimit, message in the tail", Death{ExitCode: 2, Stderr: goDump}, true},
		{"rlimit, arena index", Death{ExitCode: 2, Stderr: "fatal error: out of memory allocating heap arena map\n"}, true},
		{"rlimit, message seen by the scanner", Death{ExitCode: 2, Stderr: "goroutine 7 [running]:\n", StderrOOM: true}, true},
		{"race runtime", Death{ExitCode: 66, Stderr: "==1==ERROR: ThreadSanitizer failed to allocate 0x1ff000 (2093056) bytes (errno: 12)\n"}, true},
		{"a panic", Death{ExitCode: 2, Stderr: "panic: boom\n"}, false},
		{"a task that printed the words", Death{ExitCode: 1, Stderr: goDump}, false},
		{"someone's SIGKILL", Death{ExitCode: -1, Signal: syscall.SIGKILL}, false},
		{"nothing known", Death{}, false},
	}
	for _, tt := range tests {
		if got := tt.d.MemoryLimit(); got != tt.want {
			t.Errorf("%s: MemoryLimit() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// The scanner finds the message however the stream is cut into writes.
func TestOOMScanner(t *testing.T) {
	stream := strings.Repeat("x", 100) + "\nfatal error: runtime: out of memory\n" + strings.Repeat("goroutine 1 [running]:\n", 500)
	for _, size := range []int{1, 2, 3, 7, 16, 34, 35, 36, 64, 4096} {
		var s OOMScanner
		for i := 0; i < len(stream); i += size {
			if n, err := s.Write([]byte(stream[i:min(i+size, len(stream))])); err != nil || n != min(size, len(stream)-i) {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		if !s.Found() {
			t.Errorf("writes of %d bytes: message not found", size)
		}
	}
	var s OOMScanner
	for _, w := range []string{"fatal error: runtime: out of mem", "bers\n", "out of memory\n", "fatal error:", " runtime: out of", " disk\n"} {
		s.Write([]byte(w))
	}
	if s.Found() {
		t.Error("found a message that was not there")
	}
	if n := testing.AllocsPerRun(100, func() { s.Write([]byte("some stderr output of a worker\n")) }); n != 0 {
		t.Errorf("Write allocates %v times", n)
	}
}
