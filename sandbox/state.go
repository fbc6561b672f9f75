package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/s3"
	"github.com/tipctl/tipctl/sandbox/world"
)

// StateFile is the world file kept in a --state directory.
const StateFile = "world.yaml"

// chooseWorld loads the world a sandbox starts with: the state directory's
// world when it has one, else the inline world, the world file, the bare
// world or the default world.
func chooseWorld(opts Options, endpoint string) (*world.World, error) {
	if opts.StateDir != "" {
		path := filepath.Join(opts.StateDir, StateFile)
		w, err := world.LoadFile(path, endpoint)
		if err == nil {
			return w, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	switch {
	case len(opts.WorldYAML) > 0:
		return world.Load(opts.WorldYAML, "world", endpoint)
	case opts.WorldFile != "":
		return world.LoadFile(opts.WorldFile, endpoint)
	case opts.Bare:
		return world.Bare(endpoint)
	}
	return world.Default(endpoint)
}

// S3StateDir is the directory of a --state directory that keeps the S3
// buckets, objects and multipart uploads, one file per object (s3.Store.Persist).
const S3StateDir = "s3"

// keepState makes every change be written to dir before it is
// acknowledged: the control plane (every change of the live world) to
// world.yaml, the S3 data (every bucket, object, upload and part change)
// to files of their own under s3/, so that an object write costs the
// object, not the state. It loads the S3 data from dir when dir has it,
// and writes the starting state at once.
func (s *Sandbox) keepState(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	if st, ok := s.Env.Objects.(*s3.Store); ok {
		if err := st.Persist(filepath.Join(dir, S3StateDir)); err != nil {
			return err
		}
	}
	s.stateDir = dir
	s.Env.Persist(func(w *world.World) error { return s.writeState(w) })
	var err error
	s.Env.Read(func() { err = s.writeState(s.Env.World) })
	return err
}

// writeState writes w to the state directory atomically: a kill leaves
// the previous or the new file, never a part. The buckets are listed
// without their objects, which live under s3/.
func (s *Sandbox) writeState(w *world.World) error {
	c, err := w.Clone()
	if err != nil {
		return err
	}
	if st, ok := s.Env.Objects.(*s3.Store); ok {
		c.S3.Buckets = nil
		for _, name := range st.BucketNames() {
			c.S3.Buckets = append(c.S3.Buckets, world.Bucket{Name: name})
		}
	}
	b, err := c.Export()
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(s.stateDir, StateFile), b)
}

// exportWorld is w as a world file, with the S3 service's live buckets and
// objects in place of the world's initial ones.
func (s *Sandbox) exportWorld(w *world.World) ([]byte, error) {
	c, err := w.Clone()
	if err != nil {
		return nil, err
	}
	if st, ok := s.Env.Objects.(*s3.Store); ok {
		c.S3.Buckets, _ = st.Snapshot()
	}
	return c.Export()
}

// World exports the live state as a world file that --world loads back.
func (s *Sandbox) World() ([]byte, error) {
	var b []byte
	var err error
	s.Env.Read(func() { b, err = s.exportWorld(s.Env.World) })
	return b, err
}

func (s *Sandbox) serveWorld(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "GET /_sandbox/world exports the live state as a world file"})
		return
	}
	b, err := s.World()
	if err != nil {
		awsproto.WriteError(w, awsproto.RestJSON, &awsproto.Error{Status: 500, Code: "InternalFailure", Message: err.Error(), Receiver: true}, awsproto.NewRequestID())
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(b)
}

// writeAtomic writes b to path through a synced temporary file and a rename.
func writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".world-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
