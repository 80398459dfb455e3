// host_go.go: a cgo (so dynamically linked) Go program, to check the shim never signals Go.
// SPDX-License-Identifier: MIT
package main

// #include <unistd.h>
import "C"

import (
	"bufio"
	"fmt"
	"os"
)

func main() {
	_ = C.getpid()
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
	fmt.Println("bye")
}
