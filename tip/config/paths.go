package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Environment variables that decide where tipctl keeps its files.
const (
	// EnvHome, when set, puts everything under one directory:
	// $TIPCTL_HOME/config.yaml and $TIPCTL_HOME/state/.
	EnvHome = "TIPCTL_HOME"
	// EnvProfile selects the profile when no --profile flag is given.
	EnvProfile = "TIPCTL_PROFILE"
)

// ConfigFileName is the name of the configuration file inside Dirs.Config.
const ConfigFileName = "config.yaml"

// Dirs are the two directories tipctl uses. Config holds config.yaml (no
// secrets); State holds the secret store, caches and lock files.
type Dirs struct {
	Config string
	State  string
}

// ConfigFile is the path of config.yaml.
func (d Dirs) ConfigFile() string { return filepath.Join(d.Config, ConfigFileName) }

// Paths resolves the directories from the environment, without creating them:
//
//   - TIPCTL_HOME set: Config = $TIPCTL_HOME, State = $TIPCTL_HOME/state.
//   - otherwise the XDG base directories: Config = $XDG_CONFIG_HOME/tipctl
//     (default ~/.config/tipctl), State = $XDG_STATE_HOME/tipctl (default
//     ~/.local/state/tipctl). Relative XDG values are ignored, as the XDG
//     specification requires. On Windows the defaults are %AppData%\tipctl
//     and %LocalAppData%\tipctl.
func Paths() (Dirs, error) {
	if h := os.Getenv(EnvHome); h != "" {
		abs, err := filepath.Abs(h)
		if err != nil {
			return Dirs{}, fmt.Errorf("%s=%q: %w", EnvHome, h, err)
		}
		return Dirs{Config: abs, State: filepath.Join(abs, "state")}, nil
	}
	cfg, err := xdgDir("XDG_CONFIG_HOME", ".config", "AppData")
	if err != nil {
		return Dirs{}, err
	}
	state, err := xdgDir("XDG_STATE_HOME", filepath.Join(".local", "state"), "LocalAppData")
	if err != nil {
		return Dirs{}, err
	}
	return Dirs{Config: filepath.Join(cfg, "tipctl"), State: filepath.Join(state, "tipctl")}, nil
}

func xdgDir(env, homeRel, windowsEnv string) (string, error) {
	if v := os.Getenv(env); v != "" && filepath.IsAbs(v) {
		return v, nil
	}
	if runtime.GOOS == "windows" {
		if v := os.Getenv(windowsEnv); v != "" {
			return v, nil
		}
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", fmt.Errorf("cannot locate the home directory to place tipctl files (%v); set %s or %s", err, EnvHome, env)
	}
	return filepath.Join(home, homeRel), nil
}

// EnsureDir creates dir and its missing parents with mode 0700. An existing
// directory keeps its mode.
func EnsureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	return nil
}

// WriteFileAtomic replaces path with data so that a reader (or a crash) sees
// either the old content or the new, never a mix: it writes a temporary file
// in the same directory (created with perm, normally 0600), fsyncs it, renames
// it over path and fsyncs the directory. The directory must exist. Temporary
// files are named ".tmp-*" and are removed on failure. UserFile adjusts it
// for files tipctl does not own.
func WriteFileAtomic(path string, data []byte, perm os.FileMode, opts ...AtomicOption) (err error) {
	var o atomicOptions
	for _, opt := range opts {
		opt(&o)
	}
	prefix, openPerm := ".tmp-", perm
	if o.userFile {
		if t, lerr := filepath.EvalSymlinks(path); lerr == nil {
			path = t
		}
		if st, serr := os.Stat(path); serr == nil {
			perm = st.Mode().Perm()
		} else if !errors.Is(serr, fs.ErrNotExist) {
			return serr
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		prefix, openPerm = "."+filepath.Base(path)+".tmp-", 0o600
	}
	dir := filepath.Dir(path)
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := filepath.Join(dir, prefix+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, openPerm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if o.userFile {
		if err = f.Chmod(perm); err != nil && runtime.GOOS != "windows" {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: fsync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if o.userFile {
		_ = SyncDir(dir) // best effort: the new content is in place
		return nil
	}
	return SyncDir(dir)
}

// An AtomicOption adjusts WriteFileAtomic.
type AtomicOption func(*atomicOptions)

type atomicOptions struct {
	userFile bool
}

// UserFile has WriteFileAtomic replace a file that the user owns and may
// have arranged, such as ~/.aws/config, in place: a symbolic link at path
// keeps pointing where it did and its target is replaced; an existing file
// keeps its mode (perm is for a new file), set explicitly so the umask
// cannot narrow it; missing directories are created with mode 0700; the
// temporary file is named after the file (".config.tmp-*"); and the
// directory fsync after the rename is best effort.
func UserFile() AtomicOption {
	return func(o *atomicOptions) { o.userFile = true }
}

// SyncDir fsyncs a directory so that a rename or removal in it survives a
// crash. It is a no-op where directories cannot be synced (Windows).
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
