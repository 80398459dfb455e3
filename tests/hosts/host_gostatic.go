// host_gostatic.go: a pure (statically linked) Go program that takes SIGHUP through os/signal.Notify and echoes its stdin lines.
// SPDX-License-Identifier: MIT
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	hup := make(chan os.Signal, 16)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		n := 0
		for range hup {
			n++
			fmt.Printf("signal %d\n", n)
		}
	}()
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		fmt.Printf("got %s\n", in.Text())
	}
	fmt.Println("bye")
}
