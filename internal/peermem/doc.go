// Package peermem copies large values straight between the memory of a parent and its
// worker, and keeps the small shared table through which they agree on where.
//
// A value sent through the rings is copied twice (into the ring, out of it) and travels in
// pieces, each side waiting for the other around every piece: an 8 MiB slice costs several
// milliseconds of two CPUs. process_vm_readv and process_vm_writev copy it once, in the
// kernel, with no waiting between the two processes. Only the parent calls them: a parent may
// read and write its children's memory wherever another process may not (Yama's
// ptrace_scope 1 allows it to ancestors only), and the parent checks once, when a worker
// starts, that it can (see Probe); if not, values travel through the rings as before. Only
// Linux has these calls: elsewhere (and on Linux with the build tag multiproc_portable) Probe
// always answers false, and large values travel through the rings.
//
// The parent writes a task's large input into a buffer the worker has put up for it
// (Shared.Claim): the copy is made when the task is sent, as a copy into the ring is, so the
// caller may reuse the slice once the call has returned, even a cancelled call. The parent
// reads a large output from where the worker's function left it (Read): the worker keeps the
// slice until the parent says, through the table, that it has read the frame that named it.
package peermem
