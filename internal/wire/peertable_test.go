//go:build unix

package wire

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func newPeerTable(t *testing.T) PeerTable {
	t.Helper()
	mem, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(mem) })
	return NewPeerTable(mem)
}

// A slot goes free → offered (worker) → claimed (parent) → free (worker); the parent claims
// only a buffer large enough, and each buffer once.
func TestPeerTableSlots(t *testing.T) {
	s := newPeerTable(t)
	if _, _, ok := s.Claim(1); ok {
		t.Fatal("Claim with nothing offered succeeded")
	}
	s.Offer(0, 0x1000, 100)
	s.Offer(2, 0x9000, 500)
	if _, _, ok := s.Claim(501); ok {
		t.Error("Claim of 501 bytes got a buffer of at most 500")
	}
	i, a, ok := s.Claim(200)
	if !ok || i != 2 || a != 0x9000 || !s.IsClaimed(2) {
		t.Fatalf("Claim(200) = %d, %#x, %v; want slot 2 at 0x9000", i, a, ok)
	}
	if _, _, ok := s.Claim(200); ok {
		t.Error("the same buffer was claimed twice")
	}
	if s.Withdraw(2) {
		t.Error("Withdraw took back a claimed buffer")
	}
	s.Unclaim(2)
	if i, _, ok := s.Claim(200); !ok || i != 2 {
		t.Error("an unclaimed buffer was not offered again")
	}
	s.Free(2)
	if !s.IsFree(2) {
		t.Error("Free left the slot taken")
	}
	if !s.Withdraw(0) || !s.IsFree(0) {
		t.Error("Withdraw of an offered buffer failed")
	}
	if s.Enabled() || s.Handled() != 0 {
		t.Error("a fresh table is enabled or has frames handled")
	}
	s.Enable()
	s.SetHandled(7)
	if !s.Enabled() || s.Handled() != 7 {
		t.Error("Enable or SetHandled did not take")
	}
}

// The status page is laid out as the package doc says.
func TestStatusPageLayout(t *testing.T) {
	var tb table
	var sl slot
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"status words", unsafe.Sizeof(*Status{}.words), 24},
		{"peer table", peerTableAt, 2048},
		{"enabled", unsafe.Offsetof(tb.enabled), 0},
		{"handled", unsafe.Offsetof(tb.handled), 64},
		{"slots", unsafe.Offsetof(tb.slots), 128},
		{"slot size", unsafe.Sizeof(sl), 64},
		{"slot state", unsafe.Offsetof(sl.state), 0},
		{"slot addr", unsafe.Offsetof(sl.addr), 8},
		{"slot size field", unsafe.Offsetof(sl.size), 16},
		{"page", StatusSize, 4096},
	} {
		if c.got != c.want {
			t.Errorf("%s at %d, the doc says %d", c.name, c.got, c.want)
		}
	}
	if peerTableAt+peerTableSize > StatusSize {
		t.Errorf("the peer table ends at %d, past the page", peerTableAt+peerTableSize)
	}
}
