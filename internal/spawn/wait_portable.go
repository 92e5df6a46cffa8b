//go:build !linux || multiproc_portable

package spawn

import "os"

// awaitExit waits until the worker has ended, and reaps it: without waitid's WNOWAIT (Linux),
// the group is killed after. Its id cannot name another group while a process of the group is
// left (no system gives a new process the id of a living group), and when none is left the
// kill finds nothing: only a new process that took the id and made itself a group leader in
// those microseconds could be hit.
func awaitExit(p *os.Process) *os.ProcessState {
	state, _ := p.Wait()
	return state
}
