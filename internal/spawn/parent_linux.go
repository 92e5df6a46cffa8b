//go:build !multiproc_portable

package spawn

// watchParent does nothing on Linux: the kernel kills a worker whose parent died (Pdeathsig).
func watchParent() {}
