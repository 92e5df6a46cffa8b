// Package multiproc runs registered Go functions in worker processes of the same binary, with
// the vocabulary of Python's multiprocessing: Process, Pool, Map, Imap, ImapUnordered, Apply,
// Submit and Current.
//
// A goroutine cannot be killed, a segfault in cgo or a Go fatal error takes the whole program
// down, and one big heap's garbage collection slows everything beside it. A worker process can
// be killed, dies alone, and has its own heap; multiproc makes it as easy to use as a goroutine.
//
// # Getting started
//
// Register functions at package level, and call Main first thing in main:
//
//	var square = multiproc.Register("square", func(ctx context.Context, x int) (int, error) {
//		return x * x, nil
//	})
//
//	func main() {
//		multiproc.Main() // in a worker, serves tasks and never returns
//		pool, err := multiproc.NewPool(multiproc.Processes(4))
//		if err != nil {
//			log.Fatal(err)
//		}
//		defer pool.Close()
//		out, err := multiproc.Map(context.Background(), pool, square, []int{1, 2, 3, 4, 5})
//		fmt.Println(out, err) // [1 4 9 16 25] <nil>
//	}
//
// # How it works
//
// Workers are re-executions of the running binary (/proc/self/exe), recognised by their
// environment: Main, the first statement of main, serves tasks there instead of running the
// program. Functions are found by the name they were registered under, so they must be
// registered before Main runs (at package level). Inputs and outputs travel through memory
// shared with the worker (a ring each way), encoded with encoding/gob, so only exported fields
// travel; a type that cannot travel (a func or chan field, say) is an error naming it when the
// Func is first used. []byte, numbers, bools, strings and slices of numbers travel raw,
// without gob. Values are encoded when they are sent, and large ones are written from where
// they are: do not change an input until its task is done, nor a task's output after it
// returned. A []byte, string or slice of numbers of 256 KiB or more skips the ring when the
// system lets the parent reach its workers' memory (process_vm_writev and process_vm_readv,
// which need the right to trace the worker; the parent checks once per worker): the parent
// copies an input into a buffer the worker has put up when the task is sent, and reads an
// output from where the task left it, one copy each way.
//
// A program that forgets Main re-runs its main in each worker; when such a worker reaches
// NewPool or Start it exits at once with a message naming Main, and the parent's NewPool or
// Start fails with an error saying so.
//
// # Failures
//
// A task's error crosses as *RemoteError (its type and message; errors.Is holds for sentinels
// registered with RegisterError and the common standard ones). A panic becomes *PanicError
// with the worker's stack, and the worker goes on. A worker that dies (os.Exit, a signal, a
// fatal error, a segfault) fails only the task it was running, with *WorkerError
// (errors.Is ErrWorkerDied); the other tasks it held run elsewhere, and the pool replaces it.
// A task sent to a worker that died between tasks, before its death was known, runs
// elsewhere too.
// Map fails fast: the first failure cancels the rest and comes back as *TaskError with the
// input's index. Imap and ImapUnordered yield each failure at its position and go on.
//
// # Cancellation and timeouts
//
// The ctx given to Start, Map, Imap, ImapUnordered, Apply and Submit governs the work:
// cancelling it cancels the task's ctx in the worker at once, and a task still running a grace
// period later (GracePeriod, default 500ms) is killed with its worker, which is replaced.
// TaskTimeout does the same for one task that runs too long, failing it with ErrTimeout. The
// ctx given to Process.Wait and Future.Wait bounds only the waiting.
//
// # Processes and signals
//
// Workers run in process groups of their own: the terminal's Ctrl-C reaches only the parent,
// which decides (signal.NotifyContext cancelling a Map, say). Workers never outlive the parent:
// each gets SIGKILL when the parent dies (Pdeathsig, set from a thread that never exits) and
// exits when its control socket (which carries nothing else) closes. Killing a worker kills its process group, so processes
// its task started die with it. A process started in a group of its own outlives the worker;
// it delays neither Close nor the news of the worker's death, and its writes to the worker's
// stdout and stderr fail once the worker has ended.
//
// # Sharing between processes
//
// SharedArray, Value, Lock, Semaphore, Event, Condition and Barrier (and Queue and Pipe) are
// handles to shared memory. They travel to a worker as (part of) a task's argument, including
// the Initializer's, and back as (part of) a result, and there they are the same object: the
// memory's descriptor passes over a unix socket between the parent and each worker, once per
// process and object. Nothing has a name in the filesystem, and the memory goes when the last
// process holding it ends, however it ends. A Lock or Semaphore held by a process that dies
// does not stay held: see Lock and Semaphore. Every call that waits takes a ctx.
//
// # Cost
//
// Pools, Processes, Funcs and Futures are safe for concurrent use. Starting a worker costs a
// fork and exec of the binary and the start of a Go runtime (about 10ms on a small VM). A task
// costs a round trip through shared memory: a few microseconds while both sides are awake,
// and a wake-up of a sleeping thread (tens of microseconds on a VM) when one side was idle.
// Quick tasks travel many to a message, so Map moves millions of small inputs a second. See docs/PERFORMANCE.md in the
// repository for measured figures and the command that measures them.
package multiproc
