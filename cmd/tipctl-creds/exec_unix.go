//go:build unix

package main

import (
	"os"
	"syscall"
)

// execTipctl replaces this process with tipctl: same pid, same stdio,
// signals and exit code, as if tipctl had been run.
func execTipctl(path string, args []string) error {
	return syscall.Exec(path, append([]string{path}, args...), os.Environ())
}
