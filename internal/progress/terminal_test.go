//go:build linux

package progress

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"

	"github.com/multiproc/multiproc/internal/testpoll"
)

// redraw is what mpb writes before each frame but the first: cursor up one line, erase down.
const redraw = "\x1b[1A\x1b[J"

// A ptyScreen is a pseudo-terminal whose output the test reads while a Bar draws on it.
type ptyScreen struct {
	tty  *os.File // what the Bar writes to
	ptmx *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	read chan struct{} // closed when everything written to tty has been read
}

// newScreen opens a pty of cols columns (0: one that does not tell its size).
func newScreen(t *testing.T, cols uint16) *ptyScreen {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	if cols > 0 {
		if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: cols}); err != nil {
			t.Fatal(err)
		}
	}
	s := &ptyScreen{tty: tty, ptmx: ptmx, read: make(chan struct{})}
	go func() {
		defer close(s.read)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return // EIO once the tty side is closed
			}
		}
	}()
	t.Cleanup(func() { s.close() })
	return s
}

func (s *ptyScreen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// waitFor waits until a frame matching re has been drawn.
func (s *ptyScreen) waitFor(t *testing.T, re *regexp.Regexp) {
	t.Helper()
	if !testpoll.Until(10*time.Second, func() bool { return re.MatchString(s.String()) }) {
		t.Fatalf("no frame matching %v on the terminal: %q", re, s.String())
	}
}

// finish ends the Bar, writes a mark after it, waits a few of the Bar's intervals (nothing
// may be drawn in them), and returns the frames drawn. It fails the test unless every frame
// is one whole line, no wider than the terminal, and the mark comes last.
func (s *ptyScreen) finish(t *testing.T, bar *Bar, cols int) []string {
	t.Helper()
	bar.Finish()
	const mark = "<after Finish>"
	s.tty.WriteString(mark)
	time.Sleep(50 * time.Millisecond)
	s.close()
	out := s.String()
	rest, ok := strings.CutSuffix(out, mark)
	if !ok {
		t.Fatalf("written after Finish (after %q): %q", mark, out)
	}
	if !strings.HasSuffix(rest, "\r\n") {
		t.Fatalf("the bar does not end its line: %q", rest)
	}
	frames := strings.Split(rest, redraw)
	for i, f := range frames {
		line, ok := strings.CutSuffix(f, "\r\n")
		if !ok || strings.ContainsAny(line, "\r\n\x1b") {
			t.Errorf("frame %d is not one whole line: %q", i, f)
		}
		if n := utf8.RuneCountInString(line); n > cols {
			t.Errorf("frame %d is %d columns wide, on a terminal of %d: %q", i, n, cols, line)
		}
	}
	for i, f := range frames {
		frames[i] = strings.TrimSuffix(f, "\r\n")
	}
	return frames
}

func (s *ptyScreen) close() {
	s.tty.Close()
	<-s.read
	s.ptmx.Close()
}

var (
	// A bar of 30 columns: 28 inside the brackets, a quarter of them 7.
	barAt50   = regexp.MustCompile(`\[======>-{21}\] 50/200 tasks \(25\.0%\) \d+(\.\d+)?/s ETA (\d+s|\?)\r\n`)
	barFull   = regexp.MustCompile(`^\[={28}\] 200/200 tasks \(100\.0%\) \d+(\.\d+)?/s in \d+\.\ds$`)
	barHalted = regexp.MustCompile(`^\[======>-{21}\] 50/200 tasks \(25\.0%\) \d+(\.\d+)?/s in \d+\.\ds$`)
)

// On a terminal (a pty here) the Bar draws a live bar with the count, rate and ETA, redrawn
// in place, and leaves it full on its own line at Finish.
func TestTerminalBar(t *testing.T) {
	t.Parallel()
	s := newScreen(t, 100)
	if !isTerminal(s.tty) {
		t.Fatal("isTerminal(pty) = false")
	}
	bar := New(s.tty, 200, Interval(5*time.Millisecond))
	if _, ok := bar.view.(*terminalView); !ok {
		t.Fatalf("a pty got view %T, want the terminal bar", bar.view)
	}
	bar.Add(50)
	s.waitFor(t, barAt50)
	bar.Add(150)
	s.waitFor(t, regexp.MustCompile(`200/200 tasks \(100\.0%\) \d+(\.\d+)?/s ETA 0s`))
	frames := s.finish(t, bar, 100)
	if len(frames) < 3 {
		t.Errorf("frames %q, want the bar redrawn in place", frames)
	}
	if last := frames[len(frames)-1]; !barFull.MatchString(last) {
		t.Errorf("last frame %q does not match %v", last, barFull)
	}
	t.Logf("last frame: %q", frames[len(frames)-1])
}

// A map that stops early leaves its bar as it was, not filled.
func TestTerminalHalted(t *testing.T) {
	t.Parallel()
	s := newScreen(t, 100)
	bar := New(s.tty, 200, Interval(5*time.Millisecond))
	bar.Add(50)
	s.waitFor(t, barAt50)
	frames := s.finish(t, bar, 100)
	if last := frames[len(frames)-1]; !barHalted.MatchString(last) {
		t.Errorf("last frame %q does not match %v", last, barHalted)
	}
}

// On a narrow terminal the bar gives way to the text and no line wraps; on a pty that does not
// tell its size, the Bar draws for 80 columns.
func TestTerminalWidth(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cols, width int // the pty's size, the width drawn for
	}{{50, 50}, {20, 20}, {0, 80}} {
		s := newScreen(t, uint16(tt.cols))
		bar := New(s.tty, 200, Interval(5*time.Millisecond))
		bar.Add(200)
		frames := s.finish(t, bar, tt.width)
		last := frames[len(frames)-1]
		if !strings.Contains(last, "200/200") {
			t.Errorf("%d columns: last frame %q lacks the count", tt.cols, last)
		}
		t.Logf("%d columns: last frame %q", tt.cols, last)
	}
}

// An unknown total draws a spinner with the count, and SetTotal turns it into a bar.
func TestTerminalUnknownTotal(t *testing.T) {
	t.Parallel()
	s := newScreen(t, 100)
	bar := New(s.tty, -1, Interval(time.Millisecond))
	bar.Add(7)
	s.waitFor(t, regexp.MustCompile(`(^|`+regexp.QuoteMeta(redraw)+`)[-\\|/] 7 tasks \d+(\.\d+)?/s\r\n`))
	bar.SetTotal(7)
	frames := s.finish(t, bar, 100)
	if last := frames[len(frames)-1]; !regexp.MustCompile(`^\[=+\] 7/7 tasks \(100\.0%\) .* in \d+\.\ds$`).MatchString(last) {
		t.Errorf("last frame %q, want a full bar at 7/7 after SetTotal", last)
	}

	// Without SetTotal the spinner stops and goes: the count and rate stay.
	s = newScreen(t, 100)
	bar = New(s.tty, -1, Interval(time.Millisecond))
	bar.Add(7)
	frames = s.finish(t, bar, 100)
	if last := frames[len(frames)-1]; !regexp.MustCompile(`^7 tasks \d+(\.\d+)?/s in \d+\.\ds$`).MatchString(last) {
		t.Errorf("last frame %q, want the count and rate alone", last)
	}
}
