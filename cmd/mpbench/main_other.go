//go:build !unix

// Command mpbench measures multiproc against Python's process pools; it needs a Unix system.
package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fmt.Fprintf(os.Stderr, "mpbench: multiproc does not run on %s yet\n", runtime.GOOS)
	os.Exit(1)
}
