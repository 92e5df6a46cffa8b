package progress

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

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

// terminalView draws with progressbar. The library would redraw on each of its own Add calls
// and, for an unknown total, from a goroutine of its own; here it is only told the count from
// the Bar's loop, with its spinner goroutine disabled, so that our Add stays an atomic add and
// Finish leaves no goroutine behind.
type terminalView struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	total int64 // what bar was last told; < 0 unknown
}

func newTerminalView(w io.Writer, total int64, unit string) *terminalView {
	bar := progressbar.NewOptions64(barMax(total),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(0),                 // the Bar's interval paces redraws
		progressbar.OptionSetSpinnerChangeInterval(0), // no goroutine of the library's
		progressbar.OptionSetRenderBlankState(true),   // show the bar before the first result
		progressbar.OptionSetTheme(progressbar.ThemeASCII),
	)
	return &terminalView{w: w, bar: bar, total: total}
}

// barMax is the library's maximum for a total: -1 (a spinner) when it is unknown, and also
// when it is 0, which the library refuses.
func barMax(total int64) int64 {
	if total <= 0 {
		return -1
	}
	return total
}

func (v *terminalView) update(done, total int64, _ time.Duration) {
	if total != v.total {
		v.total = total
		v.bar.ChangeMax64(barMax(total))
	}
	if total > 0 {
		// The library refuses a count past its maximum; more results than announced would
		// otherwise freeze the bar.
		done = min(done, total)
	}
	v.bar.Set64(done)
}

func (v *terminalView) finish(done, total int64, elapsed time.Duration) {
	v.update(done, total, elapsed)
	// A bar not full stays as it is (Exit), rather than be filled by the library's Finish: a
	// cancelled map did not do the rest.
	v.bar.Exit()
	io.WriteString(v.w, "\n")
}
