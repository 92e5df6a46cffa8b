package footprint

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// The image test runs the test binary itself as the worker-like child, as os/exec's tests
// do: TestMain looks for childEnv and, if set, runs the child instead of the tests.
const childEnv = "FOOTPRINT_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		child(mode)
		return
	}
	goleak.VerifyTestMain(m)
}

// child is a process that has started, trims or not, says so and then idles, as a worker
// between tasks does, until its stdin closes.
func child(mode string) {
	if mode == "trim" {
		Trim()
	}
	os.Stdout.WriteString("ready\n")
	io.Copy(io.Discard, os.Stdin)
}

// idleChild starts a child in mode and returns the bytes of its code and read-only data
// resident (as Trim counts them) and its VmRSS, once it is idle.
func idleChild(t *testing.T, mode string) (image, rss int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("child %s: %v", mode, err)
		}
	}()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		t.Fatalf("child %s said %q, %v", mode, line, err)
	}
	// The child is idle once what it has resident stops changing: two looks 10 ms apart that
	// agree, within a deadline.
	pid := strconv.Itoa(cmd.Process.Pid)
	deadline := time.Now().Add(10 * time.Second)
	image, rss = resident(t, pid)
	for {
		time.Sleep(10 * time.Millisecond)
		nextImage, nextRSS := resident(t, pid)
		if nextImage == image && nextRSS == rss {
			break
		}
		image, rss = nextImage, nextRSS
		if time.Now().After(deadline) {
			t.Fatalf("child %s never settled: %d KiB of the image resident, then %d", mode, image>>10, nextImage>>10)
		}
	}
	return image, rss
}

// resident returns the bytes of process pid's code and read-only data resident (as Trim
// counts them) and its VmRSS.
func resident(t *testing.T, pid string) (image, rss int64) {
	t.Helper()
	smaps, err := os.ReadFile("/proc/" + pid + "/smaps")
	if err != nil {
		t.Fatal(err)
	}
	spans, err := droppable(bytes.NewReader(smaps))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range spans {
		image += s.rss
	}
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rss = kiB([]byte(v))
		}
	}
	return image, rss
}

// TestTrimDropsImage compares two idle children of the test binary, one that called Trim
// after it started and one that did not.
func TestTrimDropsImage(t *testing.T) {
	kept, keptRSS := idleChild(t, "keep")
	trimmed, trimmedRSS := idleChild(t, "trim")
	t.Logf("idle child: code and read-only data resident %d KiB, VmRSS %d KiB; with Trim: %d KiB, VmRSS %d KiB",
		kept>>10, keptRSS>>10, trimmed>>10, trimmedRSS>>10)
	if kept < 1<<20 {
		t.Fatalf("only %d KiB of the image resident without Trim: nothing to measure", kept>>10)
	}
	// Measured here: about half of the image stays dropped in a small test binary, more in
	// larger ones (what the runtime touches while idle is about the same); a quarter leaves
	// room for noise and still fails a Trim that does nothing.
	if trimmed > kept*3/4 {
		t.Errorf("with Trim, %d KiB of the image resident, without %d KiB; want at most three quarters",
			trimmed>>10, kept>>10)
	}
	if trimmedRSS > keptRSS-kept/4 {
		t.Errorf("VmRSS %d KiB with Trim, %d KiB without; want at least %d KiB less",
			trimmedRSS>>10, keptRSS>>10, kept>>12)
	}
}

// TestTrimKeepsPrivatePages maps a file twice as a library's code would be: a clean
// read-only mapping (to be dropped) and one that was written before it was made read-only,
// like a relocated RELRO segment (to be kept, as dropping would revert it to the file).
func TestTrimKeepsPrivatePages(t *testing.T) {
	const page, pages = 4096, 32
	path := filepath.Join(t.TempDir(), "lib.so")
	if err := os.WriteFile(path, bytes.Repeat([]byte{'f'}, page*pages), 0o755); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(path, unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	clean, err := unix.Mmap(fd, 0, page*pages, unix.PROT_READ|unix.PROT_EXEC, unix.MAP_PRIVATE)
	if errors.Is(err, unix.EPERM) {
		t.Skipf("mapping %s executable: %v (a noexec file system)", path, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(clean)
	relro, err := unix.Mmap(fd, 0, page*pages, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(relro)
	relro[0] = 'x' // copied on write: a private page
	if err := unix.Mprotect(relro, unix.PROT_READ); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(clean); i += page {
		sink += clean[i] + relro[i]
	}
	cleanBefore, relroBefore := mappedRSS(t, clean), mappedRSS(t, relro)
	if cleanBefore != page*pages || relroBefore != page*pages {
		t.Fatalf("before Trim: %d and %d bytes resident, want %d each", cleanBefore, relroBefore, page*pages)
	}

	Trim()

	if got := mappedRSS(t, clean); got != 0 {
		t.Errorf("after Trim, %d bytes of the clean mapping resident, want 0", got)
	}
	if got := mappedRSS(t, relro); got != relroBefore {
		t.Errorf("after Trim, %d bytes of the written mapping resident, want all %d", got, relroBefore)
	}
	if relro[0] != 'x' {
		t.Errorf("after Trim, the written page reads %q: reverted to the file", relro[0])
	}
	if clean[0] != 'f' || clean[len(clean)-1] != 'f' {
		t.Errorf("after Trim, the clean mapping reads %q...%q, want the file's 'f'", clean[0], clean[len(clean)-1])
	}
}

// sink keeps the compiler from dropping reads made only to fault pages in.
var sink byte

// mappedRSS returns the Rss smaps reports for the mapping that starts at b.
func mappedRSS(t *testing.T, b []byte) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := fmt.Sprintf("%x-", &b[0])
	found := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(strings.Fields(line)[0], ":") {
			found = strings.HasPrefix(line, start)
			continue
		}
		if v, ok := strings.CutPrefix(line, "Rss:"); ok && found {
			return kiB([]byte(v))
		}
	}
	t.Fatalf("no mapping at %p in /proc/self/smaps", &b[0])
	return 0
}
