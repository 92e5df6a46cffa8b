//go:build unix

package shm_test

import (
	"fmt"
	"log"

	"github.com/multiproc/multiproc/internal/shm"
)

// Make shared memory, map it, and map it a second time from its descriptor, as another
// process would after receiving it: both mappings see the same bytes.
func Example() {
	f, err := shm.Create("example", 4096)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	mine, err := shm.Map(int(f.Fd()), 4096)
	if err != nil {
		log.Fatal(err)
	}
	defer shm.Unmap(mine)
	theirs, err := shm.Map(int(f.Fd()), 4096)
	if err != nil {
		log.Fatal(err)
	}
	defer shm.Unmap(theirs)

	copy(mine, "hello")
	fmt.Println(string(theirs[:5]))
	// Output: hello
}
