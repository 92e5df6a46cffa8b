// Package handle lets a piece of shared memory travel between processes: the memory behind
// every sharing handle of the root package (SharedArray, Value, Lock, Queue, ...).
//
// # Objects and tokens
//
// An Object is shared memory this process has mapped, together with the descriptor that lets
// another process map it too. Objects have a Key that names them in every process: the
// identity of the process that created the object and a serial number. A process maps an
// object once, whatever number of handles it holds on it.
//
// A handle travels as a token (see token.go): the object's key, kind and size, and the
// identity of the process that wrote the token (the holder). The process that reads the token
// obtains the descriptor from the holder over a link (see link.go): a unix socket between a
// parent and each child it started, with the descriptor passed as SCM_RIGHTS. A token can
// therefore be read only in the holder's parent or in one of its children: tasks' arguments
// and results always travel that way. A handle that reaches a third process (through a Queue,
// say) cannot be opened there; Open reports it.
//
// # Lifetimes
//
// A process keeps an object's descriptor while it holds a handle on it (refs) and while tokens
// it wrote have not been read (pins): a worker may return a handle and drop it at once. The
// reader of a token tells the holder so (it fetches the descriptor, or says it had it
// already). A token that is never read (its frame was lost with a process that died) keeps its
// object's descriptor open in the holder until the holder ends.
//
// Nothing has a name: the memory is a memfd (see internal/shm), gone once the last descriptor
// and mapping are, whatever ends the processes.
//
// # Cost
//
// Nothing runs until a token is written or read: then each link of this process gets a
// goroutine that serves it (parked in the runtime's poller while idle). Fetching a descriptor
// costs a round trip over the link (tens of microseconds); a process that has the object
// already pays a one-way message.
package handle
