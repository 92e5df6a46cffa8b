package peermem

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"unsafe"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func addr(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(&b[0]))) }

// Read and Write copy between two places of one process's memory just as between two
// processes: the kernel's checks and copies are the same.
func TestReadWrite(t *testing.T) {
	pid := os.Getpid()
	src := make([]byte, 3<<20+5)
	for i := range src {
		src[i] = byte(i % 253)
	}
	dst := make([]byte, len(src))
	if err := Read(pid, dst, addr(src)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dst, src) {
		t.Fatal("Read copied the wrong bytes")
	}
	back := make([]byte, len(src))
	if err := Write(pid, addr(back), src); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, src) {
		t.Fatal("Write copied the wrong bytes")
	}
}

func TestReadErrors(t *testing.T) {
	buf := make([]byte, 16)
	if err := Read(os.Getpid(), buf, 8); !errors.Is(err, unix.EFAULT) {
		t.Errorf("Read of an unmapped address: %v, want EFAULT", err)
	}
	if err := Write(os.Getpid(), 8, buf); !errors.Is(err, unix.EFAULT) {
		t.Errorf("Write to an unmapped address: %v, want EFAULT", err)
	}
	if err := Read(0x7ffffff0, buf, addr(buf)); !errors.Is(err, unix.ESRCH) {
		t.Errorf("Read of a process that does not exist: %v, want ESRCH", err)
	}
}

func TestProbe(t *testing.T) {
	a, v := Token()
	if a == 0 || v == 0 {
		t.Fatalf("Token() = %#x, %#x", a, v)
	}
	pid := os.Getpid()
	if !Probe(pid, a, v) {
		t.Error("Probe of this process's own token failed")
	}
	for _, c := range []struct{ addr, value uint64 }{{a, v + 2}, {0, v}, {a, 0}, {8, v}} {
		if Probe(pid, c.addr, c.value) {
			t.Errorf("Probe(%#x, %#x) succeeded", c.addr, c.value)
		}
	}
}

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
