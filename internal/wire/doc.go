// Package wire is the protocol between a multiproc parent and its workers, and its one
// description: the frames they exchange, the values the frames carry, and the status page
// they share. Every frame is built and parsed here (kinds.go), every value encoded and
// decoded here (value.go), and the page's layout is defined here (status.go, peertable.go).
//
// # Frames
//
// Frames travel through a pair of shared-memory rings, one each way (internal/ring). All
// integers are little endian. A frame is
//
//	u32 length of what follows, at least 10 and at most MaxFrame (1 GiB)
//	u8  kind
//	u8  flags: FlagRestart (1), the sender's gob stream starts anew with this frame;
//	    FlagLast (2), the last frame a worker sends about a batch
//	u64 id: the batch the frame is about (0 for Hello and Exit)
//	payload, by kind:
//
//	kind 1 Hello, worker to parent, its first frame:
//	    u32 Version, u32 pid, u32 n + n bytes the binary's identity,
//	    u64 address of a word in the worker's memory, u64 the word's value (peermem.Probe)
//	kind 2 Batch, parent to worker, items to run:
//	    u32 n + n bytes the function's name, u32 count of items,
//	    u64 timeout of each item in nanoseconds (0: none), u32 attempt (1 for a first run),
//	    then the count inputs, encoded by the function's input Codec
//	kind 3 Cancel, parent to worker: stop batch id; its items not run yet end unrun. Empty.
//	kind 4 Exit, parent to worker: run what is queued, then exit. Empty.
//	kind 5 Outputs, worker to parent: u32 lo, u32 hi, then the outputs of items lo..hi-1 of
//	    batch id, encoded by the function's output Codec. Items are reported in order: lo is
//	    the first item not yet reported, and hi may equal lo (FlagLast with nothing more).
//	kind 6 Failure, worker to parent: u32 item, then one gob Error (type, message,
//	    sentinels, panic, stack). The next item's report follows.
//
// Gob values travel on one persistent gob stream per direction, so that a type is described
// once per connection; a frame with FlagRestart starts a new one (after an encoding error
// left the old one unusable). The reader refuses a length out of bounds or an unknown kind,
// and grows its buffer as a large payload's bytes arrive, so a peer that writes garbage costs
// a few times what it sends, not what it claims.
//
// # Values
//
// A Codec, chosen once per type, lays out a run of values of the type (see Codec): []byte
// each length first, numbers and bools as their memory, strings and slices of numbers as
// their lengths and then their bytes, anything else as one gob value. A slice of RefMin
// (256 KiB) or more is written from where it is, and may travel outside the frame: its u32
// length then has SharedBit (1<<31) set and is followed by a u64 reference, from parent to
// worker the index of the peer table's slot whose buffer the parent filled, from worker to
// parent the address of the output in the worker's memory, which the parent reads there
// (internal/peermem).
//
// # The status page
//
// Each worker shares one page (StatusSize, 4096 bytes, a memfd both map) with its parent,
// in native byte order. Each word is written by one side only, or changed by
// compare-and-swap.
//
//	offset          size  written by  what
//	0               8     worker      id of the batch of the running item
//	8               8     worker      1 + the running item's index in it; 0 between items
//	16              8     worker      id of the last batch whose frame the worker read
//	2048            4     parent      1 once the parent can reach the worker's memory
//	2112            8     parent      how many of the worker's frames the parent handled:
//	                                  outputs lent in earlier frames may be let go
//	2176 + 64*i     4     both        slot i (of PeerSlots, 4): 0 free, 1 offered by the
//	                                  worker, 2 claimed by the parent
//	2176 + 64*i + 8 8     worker      the address of the buffer offered in slot i
//	2176 + 64*i + 16 8    worker      its length
//
// The first three words tell the parent, after a worker died, which item it was running and
// whether it had read a batch at all (see Status); the rest is the peer table (PeerTable).
package wire
