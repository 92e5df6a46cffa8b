//go:build !linux || multiproc_portable

package spawn

import "os"

// startProcess starts a process. Without a parent-death signal (see start_linux.go), any
// thread may start it.
func startProcess(name string, argv []string, attr *os.ProcAttr) (*os.Process, error) {
	return os.StartProcess(name, argv, attr)
}
