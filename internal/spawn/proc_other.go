//go:build !unix

package spawn

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
)

// ErrUnsupported says that worker processes cannot be started on this system yet; it wraps
// errors.ErrUnsupported.
var ErrUnsupported = fmt.Errorf("multiproc: worker processes are not supported on %s yet: %w",
	runtime.GOOS, errors.ErrUnsupported)

func socketPair() (parent, child *os.File, err error) { return nil, nil, ErrUnsupported }
func signalGroup(pgid int, sig syscall.Signal) error  { return ErrUnsupported }
func readPipe(fd int, p []byte) (int, error)          { return 0, ErrUnsupported }
func sysProcAttr(cfg Config) *syscall.SysProcAttr     { return &syscall.SysProcAttr{} }
func identityOf(fi os.FileInfo) string {
	return identityString(0, 0, fi.Size(), fi.ModTime().UnixNano())
}

// OpenConn returns an error wrapping errors.ErrUnsupported.
func OpenConn() (*os.File, error) { return nil, ErrUnsupported }
