//go:build unix

package peermem

import (
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newTable(t *testing.T) Shared {
	t.Helper()
	mem, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(mem) })
	return NewShared(mem)
}

// A slot goes free → offered (worker) → claimed (parent) → free (worker); the parent claims
// only a buffer large enough, and each buffer once.
func TestSlots(t *testing.T) {
	s := newTable(t)
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
