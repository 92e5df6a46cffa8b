//go:build !linux

package procid

// OnExit reports false: there are no pidfds here, and the caller keeps looking with Alive.
func OnExit(id ID, wake func()) (stop func(), ok bool) { return nil, false }
