//go:build unix

package worker

import (
	"errors"
	"math"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/multiproc/multiproc/internal/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newTable(t *testing.T) wire.PeerTable {
	t.Helper()
	mem, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(mem) })
	return wire.NewPeerTable(mem)
}

// The inbox offers nothing before it has seen a large input, then a buffer of that size in
// every slot; it hands over a claimed buffer cut to the input's length and offers another.
func TestInbox(t *testing.T) {
	table := newTable(t)
	in := newInbox(table, math.MaxInt64, nil)
	in.refill()
	if _, _, ok := table.Claim(1); ok {
		t.Fatal("a buffer was offered before any large input came")
	}
	const size = 300 << 10
	in.Inline(size)
	in.refill()
	slots := map[int]uint64{}
	for range wire.PeerSlots {
		i, addr, ok := table.Claim(size)
		if !ok {
			t.Fatalf("only %d buffers offered, want %d", len(slots), wire.PeerSlots)
		}
		slots[i] = addr
	}
	if _, _, ok := table.Claim(1); ok {
		t.Fatal("more buffers offered than slots")
	}
	b, err := in.Fetch(1, size-5)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != size-5 || cap(b) != size-5 || address(b) != slots[1] {
		t.Errorf("Fetch gave %d bytes (cap %d) at %#x, want %d at %#x", len(b), cap(b), address(b), size-5, slots[1])
	}
	if !table.IsFree(1) {
		t.Error("the slot handed over is not free")
	}
	if _, err := in.Fetch(1, 10); !errors.Is(err, wire.ErrProtocol) {
		t.Errorf("Fetch of a slot already taken: %v, want ErrProtocol", err)
	}
	if _, err := in.Fetch(2, size+1); !errors.Is(err, wire.ErrProtocol) {
		t.Errorf("Fetch of more than the buffer holds: %v, want ErrProtocol", err)
	}
	if _, err := in.Fetch(wire.PeerSlots, 10); !errors.Is(err, wire.ErrProtocol) {
		t.Errorf("Fetch of a slot out of range: %v, want ErrProtocol", err)
	}
	in.refill() // offers a buffer of the last input's size in the free slot
	if i, _, ok := table.Claim(size - 5); !ok || i != 1 {
		t.Errorf("after refill, Claim = slot %d, %v; want slot 1 offered again", i, ok)
	}
}

// A larger input replaces the offered buffers too small for it; claimed ones are left alone.
func TestInboxGrows(t *testing.T) {
	table := newTable(t)
	in := newInbox(table, math.MaxInt64, nil)
	in.Inline(300 << 10)
	in.refill()
	claimed, _, _ := table.Claim(1)
	in.Inline(1 << 20)
	in.refill()
	n := 0
	for {
		i, _, ok := table.Claim(1 << 20)
		if !ok {
			break
		}
		if i == claimed {
			t.Error("a claimed buffer was replaced")
		}
		n++
	}
	if n != wire.PeerSlots-1 {
		t.Errorf("%d buffers of 1 MiB offered, want %d", n, wire.PeerSlots-1)
	}
}

// A lent output is kept until the parent has handled the frame that named it, and only lent
// at all once the parent has enabled the table; a dropped frame's loan is forgotten.
func TestLender(t *testing.T) {
	table := newTable(t)
	l := &lender{table: table}
	a, b, c := make([]byte, 10), make([]byte, 20), make([]byte, 30)
	if _, ok := l.Share(a, 0); ok {
		t.Fatal("lent before the parent enabled the table")
	}
	table.Enable()
	for i, x := range [][]byte{a, b, c} {
		ref, ok := l.Share(x, uint64(i+1))
		if !ok || ref != address(x) {
			t.Fatalf("Share = %#x, %v; want its address", ref, ok)
		}
	}
	if !l.unsent {
		t.Error("a loan does not mark its frame for writing at once")
	}
	l.Unshare(address(b))
	if len(l.lent) != 2 || address(l.lent[1].b) != address(c) {
		t.Fatalf("after Unshare, %d loans", len(l.lent))
	}
	noStaleLoans(t, l)
	table.SetHandled(2) // frames 0 and 1
	l.release()
	if len(l.lent) != 1 || address(l.lent[0].b) != address(c) {
		t.Fatalf("after frames 0-1 were handled, %d loans left, want the one of frame 3", len(l.lent))
	}
	noStaleLoans(t, l)
	table.SetHandled(4)
	l.release()
	if len(l.lent) != 0 {
		t.Fatalf("%d loans kept after every frame was handled", len(l.lent))
	}
	noStaleLoans(t, l)
}

// noStaleLoans fails if the loans' backing array still holds a buffer past its length: a
// forgotten loan must not keep its output alive.
func noStaleLoans(t *testing.T, l *lender) {
	t.Helper()
	for i, ln := range l.lent[len(l.lent):cap(l.lent)] {
		if ln.b != nil {
			t.Fatalf("slot %d past the %d loans still holds a buffer of %d bytes", len(l.lent)+i, len(l.lent), len(ln.b))
		}
	}
}

// withdraw takes back the offered buffers (not a claimed one), and no more are offered until
// the next large input.
func TestInboxWithdraw(t *testing.T) {
	table := newTable(t)
	large := 0
	in := newInbox(table, math.MaxInt64, func() { large++ })
	in.Inline(300 << 10)
	if large != 1 {
		t.Errorf("a large input called the hook %d times, want 1", large)
	}
	in.refill()
	claimed, _, ok := table.Claim(1)
	if !ok {
		t.Fatal("refill offered nothing after a large input")
	}
	in.withdraw()
	if _, _, ok := table.Claim(1); ok {
		t.Error("offers left up after withdraw")
	}
	for i := range in.bufs {
		if (in.bufs[i] != nil) != (i == claimed) {
			t.Errorf("slot %d: buffer kept %v, want only the claimed slot %d's", i, in.bufs[i] != nil, claimed)
		}
	}
	if !table.IsClaimed(claimed) {
		t.Error("the claimed buffer was withdrawn")
	}
	in.refill()
	if _, _, ok := table.Claim(1); ok {
		t.Error("refill offered again after withdraw, before another large input")
	}
}

// Offers take at most offerMax together, and none is made for an input larger than that: it
// comes through the rings, and an idle worker does not hold several of its size.
func TestInboxOfferMax(t *testing.T) {
	for _, c := range []struct {
		size, want int
	}{{100 << 20, 0}, {offerMax + 1, 0}, {offerMax, 1}, {40 << 20, 1}, {20 << 20, 3}, {8 << 20, wire.PeerSlots}} {
		table := newTable(t)
		in := newInbox(table, math.MaxInt64, nil)
		in.Inline(c.size)
		in.refill()
		n := 0
		for {
			if _, _, ok := table.Claim(1); !ok {
				break
			}
			n++
		}
		if n != c.want {
			t.Errorf("after an input of %d MiB: %d buffers offered, want %d", c.size>>20, n, c.want)
		}
		in.withdraw()
	}
}

// Under a memory limit, the inbox offers at most an eighth of it at once, but always one
// buffer.
func TestInboxBudget(t *testing.T) {
	for _, c := range []struct {
		limit int64
		want  int
	}{{64 << 20, 2}, {16 << 20, 1}, {1 << 20, 1}, {math.MaxInt64, wire.PeerSlots}} {
		table := newTable(t)
		in := newInbox(table, c.limit, nil)
		in.Inline(4 << 20)
		in.refill()
		n := 0
		for {
			if _, _, ok := table.Claim(1); !ok {
				break
			}
			n++
		}
		if n != c.want {
			t.Errorf("limit %d: %d buffers of 4 MiB offered, want %d", c.limit, n, c.want)
		}
	}
}
