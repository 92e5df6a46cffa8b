package spawn

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/multiproc/multiproc/internal/wire"
)

const wireVersion = wire.Version

// newStatusPage makes an anonymous shared page: memfd has no name in the filesystem, so
// nothing is left behind whatever happens to either process.
func newStatusPage() (*os.File, []byte, error) {
	fd, err := unix.MemfdCreate("multiproc-status", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("multiproc: memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "multiproc-status")
	if err := unix.Ftruncate(fd, wire.StatusSize); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("multiproc: sizing the status page: %w", err)
	}
	page, err := MapStatus(fd)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, page, nil
}

// MapStatus maps the status page open at fd.
func MapStatus(fd int) ([]byte, error) {
	page, err := unix.Mmap(fd, 0, wire.StatusSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("multiproc: mapping the status page: %w", err)
	}
	return page, nil
}
