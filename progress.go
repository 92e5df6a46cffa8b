package multiproc

import (
	"io"

	"github.com/multiproc/multiproc/internal/progress"
)

// bar reports a Map's or stream's progress; a nil *bar does nothing.
type bar = progress.Bar

// newBar returns a bar on w for total tasks (-1 when unknown), or nil without a writer.
func newBar(w io.Writer, total int) *bar {
	if w == nil {
		return nil
	}
	return progress.New(w, total)
}
