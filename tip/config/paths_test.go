package config

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestWriteFileAtomicOwnFile: without options the file at path is replaced
// by a new one with perm, a symbolic link included, and the directory must
// exist.
func TestWriteFileAtomicOwnFile(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Skip("no symlinks here")
	}
	if err := WriteFileAtomic(link, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(link)
	if err != nil || fi.Mode()&os.ModeSymlink != 0 {
		t.Fatalf("the link should now be a file of its own: %v %v", fi, err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(target); string(b) != "old" {
		t.Fatalf("the link's old target changed: %q", b)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "f"), []byte("x"), 0o600); err == nil {
		t.Fatal("wrote into a directory that does not exist")
	}
	assertNoTemps(t, dir)
}

// TestWriteFileAtomicUserFile: with UserFile a symbolic link keeps pointing
// at its target, which gets the new content and keeps its mode (even one
// the umask would narrow); a new file gets perm in new 0700 directories.
func TestWriteFileAtomicUserFile(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "dotfiles", "aws-config")
	if err := os.MkdirAll(filepath.Dir(real), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(real, 0o664); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "config")
	if err := os.Symlink(real, link); err != nil {
		t.Skip("no symlinks here")
	}
	if err := WriteFileAtomic(link, []byte("new"), 0o600, UserFile()); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the symbolic link was replaced: %v %v", fi, err)
	}
	st, err := os.Stat(real)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(real); string(b) != "new" {
		t.Fatalf("target content %q", b)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o664 {
		t.Fatalf("target mode %v, want 0664 kept", st.Mode().Perm())
	}

	fresh := filepath.Join(dir, "home", ".aws", "credentials")
	if err := WriteFileAtomic(fresh, []byte("x"), 0o600, UserFile()); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if st, _ := os.Stat(fresh); st.Mode().Perm() != 0o600 {
			t.Fatalf("new file mode %v, want 0600", st.Mode().Perm())
		}
		if st, _ := os.Stat(filepath.Dir(fresh)); st.Mode().Perm() != 0o700 {
			t.Fatalf("new directory mode %v, want 0700", st.Mode().Perm())
		}
	}
	assertNoTemps(t, filepath.Dir(real))
	assertNoTemps(t, filepath.Dir(fresh))
}

// TestWriteFileAtomicFailureCleansUp: a write that cannot be renamed into
// place (path is a directory) fails and leaves no temporary file.
func TestWriteFileAtomicFailureCleansUp(t *testing.T) {
	for _, opts := range [][]AtomicOption{nil, {UserFile()}} {
		dir := t.TempDir()
		path := filepath.Join(dir, "occupied")
		if err := os.MkdirAll(filepath.Join(path, "child"), 0o700); err != nil {
			t.Fatal(err)
		}
		err := WriteFileAtomic(path, []byte("x"), 0o600, opts...)
		if err == nil || !strings.Contains(err.Error(), "write "+path) {
			t.Fatalf("options %d: err = %v, want a write error naming the path", len(opts), err)
		}
		assertNoTemps(t, dir)
	}
}

func assertNoTemps(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("temporary file left in %s: %s", dir, e.Name())
		}
	}
}
