//go:build !multiproc_portable

package peermem

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

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
