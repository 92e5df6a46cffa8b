package spawn

import (
	"fmt"
	"os"

	"github.com/multiproc/multiproc/internal/peermem"
	"github.com/multiproc/multiproc/internal/shm"
	"github.com/multiproc/multiproc/internal/wire"
)

const wireVersion = wire.Version

// newStatusPage makes a shared page with no name (internal/shm), so that nothing is left
// behind whatever happens to either process.
func newStatusPage() (*os.File, []byte, error) {
	f, err := shm.Create("multiproc-status", wire.StatusSize)
	if err != nil {
		return nil, nil, fmt.Errorf("multiproc: %w", err)
	}
	page, err := MapStatus(int(f.Fd()))
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, page, nil
}

// MapStatus maps the status page open at fd.
func MapStatus(fd int) ([]byte, error) {
	page, err := shm.Map(fd, wire.StatusSize)
	if err != nil {
		return nil, fmt.Errorf("multiproc: mapping the status page: %w", err)
	}
	return page, nil
}

// peerTableAt is where the peermem table starts in the status page, after the status words.
const peerTableAt = 2048

// PeerTable returns the peermem table in a mapped status page.
func PeerTable(page []byte) peermem.Shared { return peermem.NewShared(page[peerTableAt:]) }
