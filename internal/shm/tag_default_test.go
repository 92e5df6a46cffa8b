//go:build !multiproc_portable

package shm

const portableTag = false
