//go:build unix

package futex

import (
	"os"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// twoMappings maps one page of shared memory twice, at two addresses, as two processes
// would: a private futex would not connect them.
func twoMappings(t *testing.T) (a, b *uint32) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "futex")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(4096); err != nil {
		t.Fatal(err)
	}
	fd := int(f.Fd())
	m1, err := unix.Mmap(fd, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := unix.Mmap(fd, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(m1); unix.Munmap(m2) })
	return (*uint32)(unsafe.Pointer(&m1[64])), (*uint32)(unsafe.Pointer(&m2[64]))
}

func TestWakeThroughAnotherMapping(t *testing.T) {
	a, b := twoMappings(t)
	done := make(chan time.Duration)
	go func() {
		start := time.Now()
		for atomic.LoadUint32(a) == 0 {
			Wait(a, 0, 10*time.Second)
		}
		done <- time.Since(start)
	}()
	time.Sleep(20 * time.Millisecond) // let it sleep (the test holds either way)
	atomic.StoreUint32(b, 1)
	Wake(b, 1)
	select {
	case d := <-done:
		t.Logf("woken after %v (%s)", d, Mechanism)
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter was not woken through the other mapping")
	}
}

func TestWaitReturnsAtTimeout(t *testing.T) {
	a, _ := twoMappings(t)
	start := time.Now()
	Wait(a, 0, 30*time.Millisecond)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Wait with a 30ms timeout returned after %v", d)
	}
}

func TestWaitReturnsAtOnceIfChanged(t *testing.T) {
	a, _ := twoMappings(t)
	atomic.StoreUint32(a, 7)
	start := time.Now()
	Wait(a, 0, 10*time.Second)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Wait on a word that differs returned after %v", d)
	}
}

func TestWakeAll(t *testing.T) {
	a, b := twoMappings(t)
	const n = 4
	done := make(chan struct{}, n)
	for range n {
		go func() {
			for atomic.LoadUint32(a) == 0 {
				Wait(a, 0, 10*time.Second)
			}
			done <- struct{}{}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	atomic.StoreUint32(b, 1)
	WakeAll(b)
	for range n {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("WakeAll left a waiter asleep")
		}
	}
}
