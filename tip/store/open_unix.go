//go:build unix

package store

import (
	"errors"
	"os"
	"syscall"
)

// openNoFollow opens path for reading without following a symbolic link
// and without blocking on a FIFO or device (O_NONBLOCK has no effect on
// regular files); the caller checks on the descriptor that it is a regular
// file before reading.
func openNoFollow(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil && errors.Is(err, syscall.ELOOP) {
		if st, lerr := os.Lstat(path); lerr == nil && st.Mode()&os.ModeSymlink != 0 {
			return nil, notRegular(path, st.Mode())
		}
	}
	return f, err
}
