//go:build unix && (!linux || multiproc_portable)

package shm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Kind names the mechanism behind Create: "memfd" on Linux, "file" elsewhere.
const Kind = "file"

// dirPrefix starts the name of every directory Create makes; the creator's pid and a
// random suffix follow, so that a later process can tell whether its creator is gone.
const dirPrefix = "multiproc-shm-"

// Create makes a shared memory object of size bytes, filled with zeroes, and returns it
// open for reading and writing, close-on-exec (pass it to a child explicitly). name labels it
// for people, in errors; it is no name anyone can open.
//
// The object is a file in a private directory, both removed before Create returns (see the
// package documentation).
func Create(name string, size int) (*os.File, error) {
	if size <= 0 {
		return nil, fmt.Errorf("shm: cannot create %d bytes", size)
	}
	base := baseDir()
	sweepOnce.Do(func() { sweep(base) })
	// The directory is 0700, so that no other user can open the file in the moment it has a
	// name; the file is 0600 besides.
	dir, err := os.MkdirTemp(base, dirPrefix+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return nil, fmt.Errorf("shm: %w", err)
	}
	path := filepath.Join(dir, "m")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	errs := []error{err}
	if err == nil {
		errs = append(errs, os.Remove(path))
	}
	errs = append(errs, os.Remove(dir))
	if err := errors.Join(errs...); err != nil {
		if f != nil {
			f.Close()
		}
		return nil, fmt.Errorf("shm: %w", err)
	}
	if err := f.Truncate(int64(size)); err != nil {
		f.Close()
		return nil, fmt.Errorf("shm: sizing %s to %d bytes: %w", name, size, err)
	}
	return f, nil
}

// baseDir is /dev/shm where it is a directory we may write in (memory that is never written
// back to a disk), else os.TempDir.
func baseDir() string {
	baseOnce.Do(func() {
		base = os.TempDir()
		if unix.Access("/dev/shm", unix.W_OK|unix.X_OK) == nil {
			if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
				base = "/dev/shm"
			}
		}
	})
	return base
}

var (
	baseOnce  sync.Once
	base      string
	sweepOnce sync.Once
)

// sweep removes what processes killed inside Create left in base: directories of this
// package whose creator no longer exists. Another user's are left alone (they could not be
// removed anyway). A creator's pid reused since is taken for the creator: its directory waits
// for a later sweep.
func sweep(base string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, ok := creator(e)
		if !ok || pid == os.Getpid() || alive(pid) {
			continue
		}
		os.RemoveAll(filepath.Join(base, e.Name()))
	}
}

// creator returns the pid in the name of a directory Create made and this user owns.
func creator(e fs.DirEntry) (int, bool) {
	rest, ok := strings.CutPrefix(e.Name(), dirPrefix)
	if !ok || !e.IsDir() {
		return 0, false
	}
	pidText, _, ok := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(pidText)
	if !ok || err != nil || pid <= 0 {
		return 0, false
	}
	fi, err := e.Info()
	if err != nil {
		return 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) != os.Getuid() {
		return 0, false
	}
	return pid, true
}

// alive reports whether process pid exists (signal 0 checks without sending anything).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
