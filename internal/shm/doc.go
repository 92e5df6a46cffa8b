// Package shm makes shared memory that two processes map, and that nothing can leave
// behind: no name in the filesystem outlives the call that made it, whatever happens to the
// processes afterwards.
//
// Create returns an *os.File. The creating process maps it with Map, passes its descriptor to
// another process (as an inherited file, or over a unix socket), and that process maps it
// with Map too. The memory lives until the last descriptor is closed and the last mapping is
// gone: when both processes have ended, at the latest.
//
// # Mechanisms
//
// On Linux the object is a memfd (memfd_create): it never has a name. Elsewhere (and on
// Linux with the build tag multiproc_portable, which tests that path) it is a file created
// with mode 0600 in a directory of its own, made with mode 0700 under /dev/shm where that
// exists (memory, never written to a disk) and under os.TempDir otherwise; the file and the
// directory are removed as soon as the file is open. A process killed (SIGKILL) in the few
// microseconds between the two leaves an empty directory or a file nobody else may open: its
// name carries the pid of the process that made it, and the first Create in any later process
// removes the ones whose process is gone. [Kind] says which mechanism is in force.
//
// On Windows every function returns an error wrapping errors.ErrUnsupported.
//
// The functions are safe for concurrent use.
package shm
