package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
	"github.com/multiproc/multiproc/internal/hostwork"
	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/goleak"
)

// The environment of a test host: the test binary serves as a host (Serve with these
// options) instead of running tests.
const (
	envTestHost   = "CLUSTER_TEST_HOST"   // the server's url
	envTestName   = "CLUSTER_TEST_NAME"   // Name
	envTestProcs  = "CLUSTER_TEST_PROCS"  // Workers(Processes(n))
	envTestLost   = "CLUSTER_TEST_LOST"   // LostAfter, as time.ParseDuration reads it
	envTestHide   = "CLUSTER_TEST_HIDE"   // a function the host acts as if it lacked
	envTestTag    = "CLUSTER_TEST_TAG"    // what whereFunc returns as the host's tag
	envTestHostTO = "CLUSTER_TEST_HOSTTO" // Workers(TaskTimeout(d))
	envTestMemory = "CLUSTER_TEST_MEMORY" // MemoryStorage()
	envTestServer = "CLUSTER_TEST_SERVER" // "<store dir> <port>": be a NATS server instead
)

func TestMain(m *testing.M) {
	multiproc.Main()
	if url := os.Getenv(envTestHost); url != "" {
		os.Exit(serveForTest(url))
	}
	if spec := os.Getenv(envTestServer); spec != "" {
		runServer(spec)
	}
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/multiproc/multiproc/internal/spawn.forkThread"),
		goleak.IgnoreAnyFunction("github.com/nats-io/nats-server/v2/server.(*Server).Start.func1"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

func serveForTest(url string) int {
	opts := []Option{}
	var workers []multiproc.Option
	if s := os.Getenv(envTestName); s != "" {
		opts = append(opts, Name(s))
	}
	if s := os.Getenv(envTestProcs); s != "" {
		n, _ := strconv.Atoi(s)
		workers = append(workers, multiproc.Processes(n))
	}
	if s := os.Getenv(envTestHostTO); s != "" {
		d, _ := time.ParseDuration(s)
		workers = append(workers, multiproc.TaskTimeout(d))
	}
	if s := os.Getenv(envTestLost); s != "" {
		d, _ := time.ParseDuration(s)
		opts = append(opts, LostAfter(d))
	}
	if os.Getenv(envTestMemory) != "" {
		opts = append(opts, MemoryStorage())
	}
	if hide := os.Getenv(envTestHide); hide != "" {
		has := hostwork.Has
		hostwork.Has = func(name string) bool { return name != hide && has(name) }
	}
	opts = append(opts, Workers(workers...))
	ctx, stop := signalContext()
	defer stop()
	if err := Serve(ctx, url, opts...); err != nil {
		fmt.Fprintln(os.Stderr, "host:", err)
		return 1
	}
	return 0
}

// testServer is an embedded NATS server with JetStream on 127.0.0.1, its store in a
// temporary directory.
type testServer struct {
	t    testing.TB
	dir  string
	port int
	s    *server.Server
}

func startServer(t testing.TB) *testServer {
	t.Helper()
	ts := &testServer{t: t, dir: t.TempDir(), port: server.RANDOM_PORT}
	ts.start()
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) start() {
	ts.t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: ts.port, JetStream: true,
		StoreDir: ts.dir, NoLog: true, NoSigs: true, ServerName: "test"})
	if err != nil {
		ts.t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		ts.t.Fatal("the NATS server did not start")
	}
	ts.s = s
	ts.port = s.Addr().(*net.TCPAddr).Port
}

// restart stops the server and starts it again on the same port and store.
func (ts *testServer) restart() {
	ts.stop()
	ts.start()
}

func (ts *testServer) stop() {
	if ts.s != nil {
		ts.s.Shutdown()
		ts.s.WaitForShutdown()
		ts.s = nil
	}
}

func (ts *testServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", ts.port) }

// natsServer is where a test's server listens.
type natsServer interface{ url() string }

// testHost is a host process: the test binary serving.
type testHost struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

// startHost starts a host of the server with env (envTest* = value pairs) and stops it, by
// SIGKILL to its process group, at the end of the test if it still runs. With MULTIPROC_SERVE
// in env, the host is what multiproc.Main makes of it, as in a user's program.
func startHost(t testing.TB, ts natsServer, env ...string) *testHost {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	if !slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, envServe+"=") }) {
		cmd.Env = append(cmd.Env, envTestHost+"="+ts.url())
	}
	h := &testHost{cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout = os.Stdout
	cmd.Stderr = h.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		h.err = cmd.Wait()
		close(h.done)
	}()
	t.Cleanup(func() {
		h.kill()
		if s := h.stderr.String(); s != "" {
			t.Logf("host %d stderr:\n%s", cmd.Process.Pid, s)
		}
	})
	return h
}

// kill ends the host and its workers at once.
func (h *testHost) kill() {
	syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
	<-h.done
}

// wait waits for the host to exit and returns its exit code.
func (h *testHost) wait(t testing.TB, d time.Duration) int {
	t.Helper()
	select {
	case <-h.done:
	case <-time.After(d):
		t.Fatalf("host %d did not exit within %v", h.cmd.Process.Pid, d)
	}
	var exit *exec.ExitError
	if errors.As(h.err, &exit) {
		return exit.ExitCode()
	}
	return 0
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newPool makes a pool on the server and closes it at the end of the test.
func newPool(t testing.TB, ts natsServer, opts []Option, popts ...multiproc.Option) *multiproc.Pool {
	t.Helper()
	p, err := multiproc.NewPool(append([]multiproc.Option{At(ts.url(), opts...)}, popts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Terminate() })
	return p
}

// waitWorkers waits until the hosts serving p have n workers between them.
func waitWorkers(t testing.TB, p *multiproc.Pool, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for p.Stats().Workers < n {
		if time.Now().After(deadline) {
			t.Fatalf("the hosts have %d workers, not %d, after 30s", p.Stats().Workers, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// runServer is a NATS server in a process of its own, to be killed: store dir and port in spec.
func runServer(spec string) {
	var dir string
	var port int
	fmt.Sscanf(spec, "%s %d", &dir, &port)
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true,
		StoreDir: dir, NoLog: true, NoSigs: true, ServerName: "test"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		os.Exit(1)
	}
	fmt.Println("ready")
	select {}
}

// serverProcess is a NATS server in a child process.
type serverProcess struct {
	t    testing.TB
	dir  string
	port int
	cmd  *exec.Cmd
}

func startServerProcess(t testing.TB) *serverProcess {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	sp := &serverProcess{t: t, dir: t.TempDir(), port: port}
	sp.start()
	t.Cleanup(sp.kill)
	return sp
}

func (sp *serverProcess) start() {
	sp.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", envTestServer, sp.dir, sp.port))
	out, err := cmd.StdoutPipe()
	if err != nil {
		sp.t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		sp.t.Fatal(err)
	}
	line := make([]byte, 6)
	if _, err := io.ReadFull(out, line); err != nil || string(line) != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		sp.t.Fatalf("the server process did not start: %v", err)
	}
	sp.cmd = cmd
}

// kill ends the server process with SIGKILL.
func (sp *serverProcess) kill() {
	if sp.cmd != nil {
		sp.cmd.Process.Kill()
		sp.cmd.Wait()
		sp.cmd = nil
	}
}

func (sp *serverProcess) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", sp.port) }
