//go:build !linux || multiproc_portable

package spawn

import (
	"os"
	"sync"
)

// executable is the path this binary was started from, as the system told it at its start.
// Unlike Linux's /proc/self/exe it names a file, not the running binary itself: a binary
// replaced since then is a different file, which the handshake's identity check reports.
var executable = sync.OnceValue(func() string {
	path, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return path
})
