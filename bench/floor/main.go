// Command floor prints a file and exits: the least a credential_process
// helper written in Go can do (start a process, read cached credentials,
// write them). bench/s3agcached compares tipctl's cached path with it.
//
//	floor FILE
package main

import "os"

func main() {
	if len(os.Args) != 2 {
		os.Stderr.WriteString("usage: floor FILE\n")
		os.Exit(2)
	}
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		os.Stderr.WriteString("floor: " + err.Error() + "\n")
		os.Exit(1)
	}
	if _, err := os.Stdout.Write(b); err != nil {
		os.Exit(1)
	}
}
