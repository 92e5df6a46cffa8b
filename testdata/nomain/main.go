// Command nomain forgets to call multiproc.Main: its workers must refuse to run its main and
// its NewPool must fail with an error that names multiproc.Main.
package main

import (
	"fmt"
	"os"

	"github.com/multiproc/multiproc"
)

func main() {
	fmt.Println("before pool")
	p, err := multiproc.NewPool(multiproc.Processes(2))
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("after pool")
	p.Close()
}
