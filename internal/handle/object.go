package handle

import (
	"fmt"
	"os"
	"sync"

	"github.com/multiproc/multiproc/internal/procid"
	"github.com/multiproc/multiproc/internal/shm"
)

// Kind says what an object holds; the root package numbers its handle types. A token is
// opened only as the kind it was written for.
type Kind uint8

// Key names an object in every process.
type Key struct {
	Creator procid.ID // the process that created it
	Serial  uint64    // numbered by the creator
}

// Object is shared memory mapped in this process.
type Object struct {
	Key  Key
	Kind Kind
	Mem  []byte // the mapping, until the object is freed

	// table.mu guards the fields below.
	file   *os.File // the descriptor that lets it travel; nil once freed
	refs   int      // handles on it in this process
	pins   int      // tokens written here and not yet read
	retire bool     // freeing it retires Mem instead of unmapping it (see Release)
}

// table holds the objects of this process that have handles or pins.
var table = struct {
	mu      sync.Mutex
	objects map[Key]*Object
	serial  uint64
}{objects: make(map[Key]*Object)}

// Create makes an object of size bytes, zeroed, with one reference.
func Create(kind Kind, size int) (*Object, error) {
	f, err := shm.Create("multiproc", size)
	if err != nil {
		return nil, fmt.Errorf("multiproc: shared memory: %w", err)
	}
	mem, err := shm.Map(int(f.Fd()), size)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("multiproc: shared memory: %w", err)
	}
	table.mu.Lock()
	defer table.mu.Unlock()
	table.serial++
	o := &Object{Key: Key{procid.Self(), table.serial}, Kind: kind, Mem: mem, file: f, refs: 1}
	table.objects[o.Key] = o
	return o, nil
}

// Retain adds a reference to o, for one more handle.
func (o *Object) Retain() {
	table.mu.Lock()
	o.refs++
	table.mu.Unlock()
}

// Release drops a reference to o. The last one, once no token written here is left unread,
// closes its descriptor and unmaps its memory. With retire, the memory is retired instead:
// its range is mapped anew with no access allowed, so that the shared memory is let go of
// while a slice of it that the program may still hold faults when used, rather than reaching
// whatever a later mapping puts at that address.
func (o *Object) Release(retire bool) {
	table.mu.Lock()
	defer table.mu.Unlock()
	o.refs--
	o.retire = o.retire || retire
	o.freeIfUnused()
}

// unpin records that a token written for o was read.
func (o *Object) unpin() {
	table.mu.Lock()
	defer table.mu.Unlock()
	if o.pins > 0 {
		o.pins--
	}
	o.freeIfUnused()
}

// freeIfUnused frees o once it has neither references nor pins. table.mu must be held.
func (o *Object) freeIfUnused() {
	if o.refs > 0 || o.pins > 0 || o.file == nil {
		return
	}
	o.file.Close()
	o.file = nil
	if table.objects[o.Key] == o {
		delete(table.objects, o.Key)
	}
	if o.retire {
		retireMapping(o.Mem)
	} else {
		shm.Unmap(o.Mem)
	}
	o.Mem = nil
}

// Token returns a token through which a child or the parent of this process opens o, and
// keeps o's descriptor open until it does.
func (o *Object) Token() []byte {
	activate()
	table.mu.Lock()
	o.pins++
	table.mu.Unlock()
	return token{kind: o.Kind, size: len(o.Mem), key: o.Key, holder: procid.Self()}.append(nil)
}

// lookup returns the object of key with a reference taken, or nil.
func lookup(key Key) *Object {
	table.mu.Lock()
	defer table.mu.Unlock()
	o := table.objects[key]
	if o == nil || o.file == nil {
		return nil
	}
	o.refs++
	return o
}

// Open returns the object a token names, with a reference taken: the one this process has
// mapped already, or one mapped from the descriptor the token's holder sends. The token must
// be of kind; name names the handle type in errors.
func Open(b []byte, kind Kind, name string) (*Object, error) {
	t, err := parseToken(b)
	if err != nil {
		return nil, fmt.Errorf("multiproc: decoding a %s: %w", name, err)
	}
	if t.kind != kind {
		return nil, fmt.Errorf("multiproc: decoding a %s: the token is for another kind of object (%d, not %d)", name, t.kind, kind)
	}
	activate()
	if t.holder == procid.Self() {
		o := lookup(t.key)
		if o == nil {
			return nil, fmt.Errorf("multiproc: decoding a %s: this process no longer has it", name)
		}
		o.unpin()
		return o, nil
	}
	l, err := linkTo(t.holder.Pid())
	if err != nil {
		return nil, fmt.Errorf("multiproc: a %s can travel only between a process and the processes "+
			"it started (as a task's argument or result), not through a Queue or Pipe to a third "+
			"process: %w", name, err)
	}
	if o := lookup(t.key); o != nil {
		l.done(t.key)
		return o, nil
	}
	f, err := l.fetch(t.key)
	if err != nil {
		return nil, fmt.Errorf("multiproc: obtaining a %s from process %d: %w", name, t.holder.Pid(), err)
	}
	return adopt(t, f)
}

// adopt maps the object of t from f, unless another goroutine did meanwhile.
func adopt(t token, f *os.File) (*Object, error) {
	if o := lookup(t.key); o != nil {
		f.Close()
		return o, nil
	}
	if size, err := shm.Size(int(f.Fd())); err != nil || size < int64(t.size) {
		f.Close()
		return nil, fmt.Errorf("multiproc: the shared memory received holds %d bytes, not %d (%v)", size, t.size, err)
	}
	mem, err := shm.Map(int(f.Fd()), t.size)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("multiproc: shared memory: %w", err)
	}
	table.mu.Lock()
	defer table.mu.Unlock()
	if o := table.objects[t.key]; o != nil && o.file != nil {
		o.refs++
		f.Close()
		shm.Unmap(mem)
		return o, nil
	}
	o := &Object{Key: t.key, Kind: t.kind, Mem: mem, file: f, refs: 1}
	table.objects[o.Key] = o
	return o, nil
}

// Objects returns how many objects this process has mapped or pinned, for tests.
func Objects() int {
	table.mu.Lock()
	defer table.mu.Unlock()
	return len(table.objects)
}
