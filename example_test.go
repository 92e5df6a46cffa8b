//go:build unix

package multiproc_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/multiproc/multiproc"
)

// cube is registered at package level, like every function workers run.
var cube = multiproc.Register("example.cube", func(_ context.Context, x int) (int, error) {
	return x * x * x, nil
})

func ExampleMap() {
	pool, err := multiproc.NewPool(multiproc.Processes(4))
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	out, err := multiproc.Map(context.Background(), pool, square, []int{1, 2, 3, 4, 5})
	fmt.Println(out, err)
	// Output: [1 4 9 16 25] <nil>
}

func ExampleImap() {
	pool, err := multiproc.NewPool(multiproc.Processes(2))
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	for v, err := range multiproc.Imap(context.Background(), pool, cube, slices.Values([]int{1, 2, 3})) {
		if err != nil {
			panic(err)
		}
		fmt.Println(v)
	}
	// Output:
	// 1
	// 8
	// 27
}

func ExampleStart() {
	ctx := context.Background()
	p, err := multiproc.Start(ctx, whoami, struct{}{}, multiproc.Name("greeter"))
	if err != nil {
		panic(err)
	}
	info, err := p.Wait(ctx)
	fmt.Println(info.Name, info.IsWorker, info.Pid == p.Pid(), err)
	// Output: greeter true true <nil>
}

func ExampleSubmit() {
	pool, err := multiproc.NewPool(multiproc.Processes(2))
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	ctx := context.Background()
	futures := []*multiproc.Future[int]{
		multiproc.Submit(ctx, pool, cube, 2),
		multiproc.Submit(ctx, pool, cube, 3),
	}
	for _, f := range futures {
		v, err := f.Wait(ctx)
		fmt.Println(v, err)
	}
	// Output:
	// 8 <nil>
	// 27 <nil>
}

func ExampleCurrent() {
	fmt.Println(multiproc.Current().Name)
	// Output: MainProcess
}
