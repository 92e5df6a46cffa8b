//go:build linux

package progress

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// On a terminal (a pty here) the Bar draws a live bar with the count, rate and ETA, redrawn
// in place, and leaves it on its own line at Finish.
func TestTerminalBar(t *testing.T) {
	t.Parallel()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	var (
		mu     sync.Mutex
		screen bytes.Buffer
		read   = make(chan struct{})
	)
	go func() {
		defer close(read)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return // EIO once the tty side is closed
			}
		}
	}()
	seen := func(s string) bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(screen.String(), s)
	}

	if !isTerminal(tty) {
		t.Fatal("isTerminal(pty) = false")
	}
	bar := New(tty, 200, Interval(5*time.Millisecond))
	if _, ok := bar.view.(*terminalView); !ok {
		t.Fatalf("a pty got view %T, want the terminal bar", bar.view)
	}
	bar.Add(50)
	if !pollUntil(10*time.Second, func() bool { return seen("(50/200, ") }) {
		t.Fatalf("no bar at 50/200 on the terminal: %q", screen.String())
	}
	bar.Add(150)
	if !pollUntil(10*time.Second, func() bool { return seen("100%") && seen("(200/200, ") }) {
		t.Fatalf("no full bar on the terminal: %q", screen.String())
	}
	bar.Finish()
	tty.Close()
	<-read
	ptmx.Close()

	out := screen.String()
	for _, want := range []string{"25%", "tasks/s", "\r"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q: %q", want, out)
		}
	}
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("terminal output does not end its line: %q", out)
	}
	t.Logf("last frame: %q", lastFrame(out))
}

// An unknown total draws a spinner with the count, and SetTotal turns it into a bar.
func TestTerminalUnknownTotal(t *testing.T) {
	t.Parallel()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(ptmx) // ends with EIO once tty is closed
		done <- string(b)
	}()
	bar := New(tty, -1, Interval(time.Millisecond))
	bar.Add(7)
	if !pollUntil(10*time.Second, func() bool { return bar.Count() == 7 }) {
		t.Fatal("count lost")
	}
	bar.SetTotal(7)
	bar.Finish()
	tty.Close()
	out := <-done
	ptmx.Close()
	if !strings.Contains(out, "(7/7, ") || !strings.Contains(out, "100%") {
		t.Errorf("output %q, want a full bar at 7/7 after SetTotal", out)
	}
}

// lastFrame returns the text after the last carriage return, for the log.
func lastFrame(s string) string {
	s = strings.TrimRight(s, "\r\n")
	if i := strings.LastIndex(s, "\r"); i >= 0 {
		return s[i+1:]
	}
	return s
}
