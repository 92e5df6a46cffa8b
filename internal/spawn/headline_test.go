package spawn

import "testing"

func TestCrashHeadline(t *testing.T) {
	for _, c := range []struct{ name, stderr, want string }{
		{"nothing", "", ""},
		{"plain exit", "starting\ndone\n", ""},
		{"panic", "working\npanic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/x/main.go:9 +0x25\nexit status 2\n",
			"panic: boom"},
		{"nil dereference", "panic: runtime error: invalid memory address or nil pointer dereference\n" +
			"[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x47e1d4]\n\ngoroutine 1 [running]:\n",
			"panic: runtime error: invalid memory address or nil pointer dereference"},
		{"signal outside Go, register dump last", "SIGSEGV: segmentation violation\nPC=0x7f3e8c m=0 sigcode=1 addr=0x0\n\n" +
			"goroutine 0 gp=0x5a9c80 m=0 mp=0x5aa940 [idle]:\n\nrax    0x0\nrbx    0x1\nfs     0x0\ngs     0x0\n",
			"SIGSEGV: segmentation violation"},
		{"fatal error", "fatal error: concurrent map writes\n\ngoroutine 7 [running]:\n", "fatal error: concurrent map writes"},
		{"out of memory", "runtime: out of memory: cannot allocate 1073741824-byte block (3997696 in use)\n" +
			"fatal error: out of memory\n\ngoroutine 1 [running]:\n", "fatal error: out of memory"},
		{"unexpected signal", "fatal error: unexpected signal during runtime execution\n[signal SIGBUS: bus error code=0x2]\n",
			"fatal error: unexpected signal during runtime execution"},
		{"abort", "SIGABRT: abort\nPC=0x46a3e1 m=0 sigcode=0\n\ngoroutine 0 [idle]:\nr15    0x0\n", "SIGABRT: abort"},
		{"repanicked", "panic: first [recovered]\n\tpanic: second\n\ngoroutine 1 [running]:\n", "panic: first [recovered]"},
		{"the last report counts", "panic: old news\n[...]\nlater\npanic: this one\n\ngoroutine 1:\n", "panic: this one"},
		{"head kept before the tail", "panic: boom\n[...]\n\t/x/y.go:1 +0x1\ncreated by main\n", "panic: boom"},
		{"not at a line's start", "log: panic: maybe\n  fatal error: quoted\n", ""},
		{"no newline at the end", "panic: cut", "panic: cut"},
	} {
		if got := CrashHeadline(c.stderr); got != c.want {
			t.Errorf("%s: CrashHeadline = %q, want %q", c.name, got, c.want)
		}
	}
}

// The tail keeps a crash report's first lines ahead of a dump long enough to push them out,
// and CrashHeadline finds its headline there.
func TestTailKeepsTheHeadline(t *testing.T) {
	var o output
	o.head.write([]byte("starting\n"))
	o.tail.write([]byte("starting\n"))
	report := []byte("SIGSEGV: segmentation violation\nPC=0x1 m=0\n")
	o.head.write(report)
	o.tail.write(report)
	for range 2 * tailSize / 8 {
		o.head.write([]byte("gs 0x0\n"))
		o.tail.write([]byte("gs 0x0\n"))
	}
	if got := CrashHeadline(o.Tail()); got != "SIGSEGV: segmentation violation" {
		t.Errorf("CrashHeadline of the tail = %q\ntail starts %q", got, o.Tail()[:80])
	}
}
