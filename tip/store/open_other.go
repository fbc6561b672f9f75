//go:build !unix

package store

import "os"

// openNoFollow refuses a symbolic link, then opens path (Windows has no
// FIFOs in the file system and no O_NOFOLLOW).
func openNoFollow(path string) (*os.File, error) {
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSymlink != 0 {
		return nil, notRegular(path, st.Mode())
	}
	return os.Open(path)
}
