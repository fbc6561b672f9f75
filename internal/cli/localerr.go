package cli

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// localError classifies a failure of this machine's file system: a
// read-only or full disk, a permission problem. syscall.Errno satisfies
// net.Error, so without this check such errors would read as network
// trouble. It returns nil for anything else. The message names the path;
// the exit code is that of local/configuration errors.
func localError(err error) *Error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return nil
	}
	path := ""
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		path = pe.Path
	case errors.As(err, &le):
		path = le.New
	}
	var fix string
	switch errno {
	case syscall.EROFS:
		fix = "the file system is read-only: point TIPCTL_HOME (or XDG_STATE_HOME and XDG_CONFIG_HOME) at a writable directory"
	case syscall.ENOSPC, syscall.EDQUOT:
		fix = "the disk (or your quota) is full: free some space and retry"
	case syscall.EACCES, syscall.EPERM:
		fix = "permission denied: check the owner and mode of " + filepath.Dir(orDash(path)) + " (ls -ld), or point TIPCTL_HOME at a directory you own"
	case syscall.EMFILE, syscall.ENFILE:
		fix = "too many open files: raise the limit (ulimit -n) or close other programs"
	case syscall.ENOTDIR, syscall.EISDIR, syscall.ELOOP, syscall.ENAMETOOLONG:
		fix = "something unexpected is in the way on that path: check it, or point TIPCTL_HOME elsewhere"
	default:
		return nil
	}
	msg := err.Error()
	if path != "" && !strings.Contains(msg, path) {
		msg += " (" + path + ")"
	}
	return &Error{Code: ExitConfig, Msg: msg, Fix: fix, Err: err}
}
