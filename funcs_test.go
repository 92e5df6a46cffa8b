//go:build unix

package multiproc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/multiproc/multiproc"
	"github.com/multiproc/multiproc/internal/ring"
	"github.com/multiproc/multiproc/internal/spawn"
	"github.com/multiproc/multiproc/internal/testcrash"
)

// The functions the tests run in workers, registered at package level as users must.

var square = multiproc.Register("test.square", func(_ context.Context, x int) (int, error) {
	return x * x, nil
})

var errCustom = errors.New("test: custom sentinel")

func init() { multiproc.RegisterError(errCustom) }

// failing returns an error chosen by its input.
var failing = multiproc.Register("test.failing", func(_ context.Context, kind string) (int, error) {
	switch kind {
	case "plain":
		return 0, errors.New("plain failure")
	case "missing":
		_, err := os.Open("/nonexistent/multiproc-test")
		return 0, err
	case "custom":
		return 0, fmt.Errorf("wrapped: %w", errCustom)
	case "ok":
		return 1, nil
	}
	return 0, fmt.Errorf("unknown kind %q", kind)
})

var panicky = multiproc.Register("test.panicky", func(_ context.Context, v string) (int, error) {
	if v == "" {
		return os.Getpid(), nil
	}
	panic(v)
})

// crash ends its worker in the way its input names, and otherwise returns its input.
var crash = multiproc.Register("test.crash", func(_ context.Context, how string) (string, error) {
	switch how {
	case "exit0":
		os.Exit(0)
	case "exit3":
		os.Exit(3)
	case "sigkill":
		self, _ := os.FindProcess(os.Getpid())
		self.Kill() // SIGKILL
	case "segfault":
		testcrash.Segfault()
	case "fatal":
		testcrash.StackOverflow()
	}
	if how != "" && how[0] == '!' {
		// Wait for the kill to arrive.
		time.Sleep(time.Minute)
	}
	return how, nil
})

// sleepy sleeps for d unless its context ends first.
var sleepy = multiproc.Register("test.sleepy", func(ctx context.Context, d time.Duration) (int, error) {
	select {
	case <-time.After(d):
		return os.Getpid(), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
})

// stubborn sleeps for d whatever its context says.
var stubborn = multiproc.Register("test.stubborn", func(_ context.Context, d time.Duration) (int, error) {
	time.Sleep(d)
	return os.Getpid(), nil
})

// noteCancel writes path.started, waits for its context to end, then writes path.
var noteCancel = multiproc.Register("test.noteCancel", func(ctx context.Context, path string) (int, error) {
	if err := os.WriteFile(path+".started", nil, 0o644); err != nil {
		return 0, err
	}
	<-ctx.Done()
	return 0, os.WriteFile(path, []byte("cancelled"), 0o644)
})

var whoami = multiproc.Register("test.whoami", func(_ context.Context, _ struct{}) (multiproc.Info, error) {
	return multiproc.Current(), nil
})

// speak writes its input to stdout and stderr and returns its length.
var speak = multiproc.Register("test.speak", func(_ context.Context, s string) (int, error) {
	fmt.Fprint(os.Stdout, s)
	fmt.Fprint(os.Stderr, s)
	return len(s), nil
})

// garbage writes bad bytes where the worker's frames go, as a broken worker might.
var garbage = multiproc.Register("test.garbage", func(_ context.Context, kind string) (int, error) {
	rings, err := ring.Open(spawn.RingsFD)
	if err != nil {
		return 0, err
	}
	conn := &rings.Writer
	switch kind {
	case "text":
		conn.Write([]byte("hello, this is not a frame\n"))
	case "huge":
		conn.Write([]byte{0xff, 0xff, 0xff, 0x7f, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0})
	case "truncated":
		conn.Write([]byte{100, 0, 0, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 2})
		os.Exit(0)
	}
	time.Sleep(time.Minute)
	return 0, nil
})

// nested runs its own pool inside a worker and returns the sum of squares below n.
var nested = multiproc.Register("test.nested", func(ctx context.Context, n int) (int, error) {
	p, err := multiproc.NewPool(multiproc.Processes(1))
	if err != nil {
		return 0, err
	}
	defer p.Close()
	in := make([]int, n)
	for i := range in {
		in[i] = i
	}
	out, err := multiproc.Map(ctx, p, square, in)
	if err != nil {
		return 0, err
	}
	sum := 0
	for _, v := range out {
		sum += v
	}
	return sum, nil
})

// spawnChild starts a long sleep as the task's own child and returns its pid, then waits.
var spawnChild = multiproc.Register("test.spawnChild", func(ctx context.Context, out string) (int, error) {
	cmd := exec.Command("sleep", "600")
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	if err := os.WriteFile(out, []byte(fmt.Sprint(cmd.Process.Pid)), 0o644); err != nil {
		return 0, err
	}
	time.Sleep(time.Minute)
	return cmd.Process.Pid, nil
})

// Types that cannot travel.
type withFunc struct {
	N  int
	Fn func()
}

type withChan struct {
	C chan int
}

var takesFunc = multiproc.Register("test.takesFunc", func(_ context.Context, v withFunc) (int, error) {
	return v.N, nil
})

var returnsChan = multiproc.Register("test.returnsChan", func(_ context.Context, n int) (withChan, error) {
	return withChan{}, nil
})

// echoBytes returns its input, to check that byte slices travel intact.
var echoBytes = multiproc.Register("test.echoBytes", func(_ context.Context, b []byte) ([]byte, error) {
	return b, nil
})

type record struct {
	Name  string
	Tags  []string
	Score map[string]float64
	Next  *record
}

var echoRecord = multiproc.Register("test.echoRecord", func(_ context.Context, r record) (record, error) {
	r.Name += "!"
	return r, nil
})

// hang writes the file its input names, then sleeps for a minute whatever its context says.
var hang = multiproc.Register("test.hang", func(_ context.Context, path string) (int, error) {
	if err := os.WriteFile(path, []byte("started"), 0o644); err != nil {
		return 0, err
	}
	time.Sleep(time.Minute)
	return 0, nil
})

// initValue is set in a worker by the initializer.
var initValue string

var setInit = multiproc.Register("test.setInit", func(_ context.Context, v string) (struct{}, error) {
	if v == "fail" {
		return struct{}{}, errors.New("initializer refused")
	}
	// "unless:PATH" fails while the file PATH exists.
	if path, ok := strings.CutPrefix(v, "unless:"); ok {
		if _, err := os.Stat(path); err == nil {
			return struct{}{}, errors.New("initializer refused: " + path + " exists")
		}
	}
	initValue = v
	return struct{}{}, nil
})

var getInit = multiproc.Register("test.getInit", func(_ context.Context, _ int) (string, error) {
	return initValue, nil
})

// attempt kills its worker on the attempts its input lists, and otherwise returns the attempt.
var attempt = multiproc.Register("test.attempt", func(ctx context.Context, dieOn []int) (int, error) {
	n := multiproc.Attempt(ctx)
	for _, d := range dieOn {
		if d == n {
			os.Exit(7)
		}
	}
	return n, nil
})

// hoard keeps n MiB alive in the worker, touched, and returns its pid.
var hoarded [][]byte

var hoard = multiproc.Register("test.hoard", func(_ context.Context, mib int) (int, error) {
	for range mib {
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = 1
		}
		hoarded = append(hoarded, b)
	}
	return os.Getpid(), nil
})

// spin keeps a CPU busy for d.
var spin = multiproc.Register("test.spin", func(_ context.Context, d time.Duration) (int, error) {
	n := 0
	for start := time.Now(); time.Since(start) < d; n++ {
	}
	return n, nil
})
