package progress

import (
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// barWidth is the width of the bar itself, brackets included, when the terminal is wide enough;
// on a narrower one the bar gives way to the text.
const barWidth = 30

// isTerminal reports whether w is a terminal, the one case where a redrawn bar makes sense.
// It asks through SyscallConn rather than Fd, which would switch the file to blocking mode.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	tty := false
	if err := rc.Control(func(fd uintptr) { tty = term.IsTerminal(int(fd)) }); err != nil {
		return false
	}
	return tty
}

// termWidth returns the columns of the terminal f, or 0 if it does not say.
func termWidth(f *os.File) int {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0
	}
	width := 0
	rc.Control(func(fd uintptr) { width, _, _ = term.GetSize(int(fd)) })
	return max(width, 0)
}

// terminalView draws with mpb (github.com/vbauerster/mpb): a bar, or a spinner while the total
// is unknown, followed by the same text as the plain lines:
//
//	[==>-------------------------] 12345/100000 tasks (12.3%) 4567/s ETA 20s
//
// mpb redraws it in place (cursor up, erase), fits it to the terminal's width at every redraw
// so that it never wraps, and ends it with a newline. Its container is driven by hand
// (WithManualRefresh): it draws when the Bar's loop says so, and only what the loop last stored
// in state, so mpb never counts and our Add stays an atomic add. Its bar is made with a total of
// 0, which keeps it from completing by itself; finish aborts it (keeping it on the screen),
// draws the last frame and waits for mpb's goroutines, after which nothing is written.
type terminalView struct {
	unit    string
	state   atomic.Pointer[frame] // what the next drawing shows
	refresh chan any              // a send: draw now
	p       *mpb.Progress
	bar     *mpb.Bar
	filler  mpb.BarFiller // the bar
	spinner mpb.BarFiller // in place of the bar while the total is unknown
	text    []byte        // reused by status; mpb draws from one goroutine at a time
}

// frame is what one drawing shows.
type frame struct {
	done, total int64
	elapsed     time.Duration
	final       bool
}

func newTerminalView(w io.Writer, total int64, unit string) *terminalView {
	v := &terminalView{
		unit:    unit,
		refresh: make(chan any),
		filler:  mpb.BarStyle().Build(),
		spinner: mpb.SpinnerStyle(`-`, `\`, `|`, `/`).Build(),
	}
	v.state.Store(&frame{total: total})
	opts := []mpb.ContainerOption{mpb.WithManualRefresh(v.refresh)}
	if f, ok := w.(*os.File); ok && termWidth(f) == 0 {
		// A terminal that does not tell its size (a bare pty, a serial console): mpb would fit
		// the line into 0 columns. Hide the *os.File from it and assume 80 columns.
		opts = append(opts, mpb.WithOutput(struct{ io.Writer }{w}), mpb.WithWidth(80))
	} else {
		// mpb asks the file's size at every redraw, through its Fd: a terminal that Go had
		// opened non-blocking becomes blocking, which costs an output nothing (os.Stdout and
		// os.Stderr normally are already).
		opts = append(opts, mpb.WithOutput(w))
	}
	v.p = mpb.New(opts...)
	v.bar = v.p.MustAdd(0, mpb.BarFillerFunc(v.fill),
		mpb.BarWidth(barWidth),
		mpb.BarFillerTrim(),
		mpb.AppendDecorators(decor.Any(v.status)),
	)
	v.refresh <- nil // show the bar before the first result
	return v
}

func (v *terminalView) update(done, total int64, elapsed time.Duration) {
	v.state.Store(&frame{done: done, total: total, elapsed: elapsed})
	v.refresh <- nil
}

func (v *terminalView) finish(done, total int64, elapsed time.Duration) {
	v.state.Store(&frame{done: done, total: total, elapsed: elapsed, final: true})
	// Abort ends the bar as it is, leaving it on the screen: a cancelled map did not do the
	// rest, so the bar is full only if the work is. The last frame is drawn by the refresh:
	// once mpb has taken it, it draws before it can shut down.
	v.bar.Abort(false)
	v.refresh <- nil
	v.p.Wait()
}

// fill draws the bar, or the spinner while the total is unknown, from the stored frame.
func (v *terminalView) fill(w io.Writer, st decor.Statistics) error {
	f := v.state.Load()
	switch {
	case f.total < 0 && f.final:
		return nil // no total to fill a bar towards, and nothing left to spin for
	case f.total < 0 && st.AvailableWidth < 2:
		return nil // no room for the spinner and the space after it
	case f.total < 0:
		st.RequestedWidth = 1 // the spinner's frame, without padding
		if err := v.spinner.Fill(w, st); err != nil {
			return err
		}
		_, err := io.WriteString(w, " ")
		return err
	}
	st.Total, st.Current = f.total, f.done
	if f.total == 0 {
		st.Total, st.Current = 1, 1 // nothing to do is all done
	}
	st.Completed = f.final && st.Current >= st.Total // a full bar, without the tip
	if st.AvailableWidth < 3 {
		return nil // not even room for a one-column bar and the space after it
	}
	st.AvailableWidth-- // the space after the bar
	if err := v.filler.Fill(w, st); err != nil {
		return err
	}
	_, err := io.WriteString(w, " ")
	return err
}

// status is the text after the bar: the plain line's.
func (v *terminalView) status(decor.Statistics) string {
	f := v.state.Load()
	v.text = appendStatus(v.text[:0], v.unit, f.done, f.total, f.elapsed, f.final)
	return string(v.text)
}
