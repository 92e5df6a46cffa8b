package spawn

import "strings"

// crashStarts begin the first line of a Go crash report: a panic, a fatal error of the runtime,
// or a signal the runtime could not turn into a panic ("SIGSEGV: segmentation violation").
var crashStarts = []string{"panic: ", "fatal error: ", "unexpected signal",
	"SIGSEGV: ", "SIGBUS: ", "SIGFPE: ", "SIGILL: ", "SIGABRT: ", "SIGQUIT: ", "SIGTRAP: ", "SIGSYS: "}

// CrashHeadline returns the line that says what ended a worker, from the end of its stderr
// (Child.StderrTail): the first line of its last Go crash report, such as "panic: boom",
// "fatal error: concurrent map writes" or "SIGSEGV: segmentation violation", without the
// register dump or goroutine stacks that follow it. It returns "" when stderr holds no crash
// report (the worker exited, or a signal from outside killed it).
func CrashHeadline(stderr string) string {
	headline := ""
	for line := range strings.Lines(stderr) {
		if crashStart(line) {
			headline = strings.TrimRight(line, "\r\n")
		}
	}
	return headline
}

// crashStart reports whether line starts a crash report.
func crashStart(line string) bool {
	for _, s := range crashStarts {
		if strings.HasPrefix(line, s) {
			return true
		}
	}
	return false
}
