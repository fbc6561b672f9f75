package s3

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tipctl/tipctl/sandbox/awsproto"
)

// The store's state directory (tipctl sandbox --state DIR keeps it in
// DIR/s3). Each change is written before it is acknowledged, atomically
// (a temporary file, fsync, rename, fsync of the directory), and costs in
// proportion to what changed, never to the size of the store:
//
//	buckets.json                 the buckets (name, creation time); its presence marks a complete directory
//	objects/ab/<sha256>          one file per object: sha256(bucket NUL key) names it
//	uploads/<upload id>/meta     a multipart upload in progress
//	uploads/<upload id>/<n>      its part n
//
// An object file is the magic line, the length of its metadata (4 bytes,
// big-endian), the metadata (JSON) and the body, byte for byte.
const (
	bucketsFile = "buckets.json"
	objectsDir  = "objects"
	uploadsDir  = "uploads"
	objectMagic = "tipctl-s3-object-1\n"
	maxMetaSize = 1 << 20
)

// journal writes the store's changes to its directory.
type journal struct {
	dir string
	// stripes order the writes of one object: the file ends as the
	// memory does.
	stripes [64]sync.Mutex
	// bucketsMu orders the rewrites of buckets.json.
	bucketsMu sync.Mutex
}

type objectMeta struct {
	Bucket            string            `json:"bucket"`
	Key               string            `json:"key"`
	ETag              string            `json:"etag"`
	ContentType       string            `json:"content_type"`
	LastModified      time.Time         `json:"last_modified"`
	Headers           map[string]string `json:"headers,omitempty"`
	Metadata          map[string]string `json:"metadata,omitempty"`
	ChecksumAlgorithm string            `json:"checksum_algorithm,omitempty"`
	Checksum          string            `json:"checksum,omitempty"`
	Parts             int               `json:"parts,omitempty"`
}

type savedBucket struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

type uploadMeta struct {
	Bucket    string     `json:"bucket"`
	ID        string     `json:"id"`
	Key       string     `json:"key"`
	Initiated time.Time  `json:"initiated"`
	Template  objectMeta `json:"template"`
}

func objectID(bucket, key string) string {
	h := sha256.Sum256([]byte(bucket + "\x00" + key))
	return hex.EncodeToString(h[:])
}

func (j *journal) objectPath(bucket, key string) string {
	id := objectID(bucket, key)
	return filepath.Join(j.dir, objectsDir, id[:2], id)
}

func (j *journal) lock(bucket, key string) func() {
	h := sha256.Sum256([]byte(bucket + "\x00" + key))
	m := &j.stripes[h[0]%byte(len(j.stripes))]
	m.Lock()
	return m.Unlock
}

// Persist makes the store durable in dir. When dir holds a store (it has
// buckets.json) the store is replaced by it; otherwise the store's current
// buckets and objects are written there first. From then on every change
// is written before it is acknowledged.
func (s *Store) Persist(dir string) error {
	j := &journal{dir: dir}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("S3 state directory: %w", err)
	}
	_, err := os.Stat(filepath.Join(dir, bucketsFile))
	switch {
	case err == nil:
		err = s.load(j)
	case errors.Is(err, fs.ErrNotExist):
		err = s.writeAll(j)
	}
	if err != nil {
		return fmt.Errorf("S3 state in %s: %w", dir, err)
	}
	s.mu.Lock()
	s.journal = j
	s.mu.Unlock()
	return nil
}

// writeAll writes the whole store to an empty directory (the first start
// on it, or one killed before it was complete); buckets.json comes last.
func (s *Store) writeAll(j *journal) error {
	for _, d := range []string{objectsDir, uploadsDir} {
		if err := os.RemoveAll(filepath.Join(j.dir, d)); err != nil {
			return err
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for name, b := range s.buckets {
		for _, o := range b.objects {
			if err := j.putObject(name, o); err != nil {
				return err
			}
		}
	}
	return j.writeBuckets(s.bucketEntriesLocked())
}

func (s *Store) bucketEntriesLocked() []savedBucket {
	out := make([]savedBucket, 0, len(s.buckets))
	for _, b := range s.buckets {
		out = append(out, savedBucket{Name: b.Name, Created: b.Created})
	}
	return out
}

// load replaces the store's buckets, objects and uploads with the
// directory's.
func (s *Store) load(j *journal) error {
	var entries []savedBucket
	b, err := os.ReadFile(filepath.Join(j.dir, bucketsFile))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &entries); err != nil {
		return fmt.Errorf("%s: %w", bucketsFile, err)
	}
	buckets := map[string]*Bucket{}
	for _, e := range entries {
		if !ValidBucketName(e.Name) {
			return fmt.Errorf("%s: %q is not a bucket name", bucketsFile, e.Name)
		}
		buckets[e.Name] = &Bucket{Name: e.Name, Created: e.Created, objects: map[string]*Object{}, uploads: map[string]*Upload{}}
	}
	files, _ := filepath.Glob(filepath.Join(j.dir, objectsDir, "*", "*"))
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), ".tmp-") { // a write cut short
			os.Remove(f)
			continue
		}
		o, bucket, err := readObject(f)
		if err != nil {
			return err
		}
		if bk, ok := buckets[bucket]; ok && filepath.Base(f) == objectID(bucket, o.Key) {
			bk.objects[o.Key] = o
		}
	}
	dirs, _ := os.ReadDir(filepath.Join(j.dir, uploadsDir))
	for _, d := range dirs {
		if err := loadUpload(filepath.Join(j.dir, uploadsDir, d.Name()), buckets); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.buckets = buckets
	s.mu.Unlock()
	return nil
}

func readObject(path string) (*Object, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	rest, ok := bytes.CutPrefix(b, []byte(objectMagic))
	if !ok || len(rest) < 4 {
		return nil, "", fmt.Errorf("%s is not an object file of the sandbox", path)
	}
	n := binary.BigEndian.Uint32(rest)
	if n > maxMetaSize || int(n) > len(rest)-4 {
		return nil, "", fmt.Errorf("%s: bad metadata length", path)
	}
	var m objectMeta
	if err := json.Unmarshal(rest[4:4+n], &m); err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	o := m.object()
	o.Body = rest[4+n:]
	return o, m.Bucket, nil
}

func (m *objectMeta) object() *Object {
	return &Object{Key: m.Key, ETag: m.ETag, ContentType: m.ContentType, LastModified: m.LastModified,
		Headers: m.Headers, Metadata: m.Metadata, ChecksumAlgorithm: m.ChecksumAlgorithm, Checksum: m.Checksum, Parts: m.Parts}
}

func metaOf(bucket string, o *Object) objectMeta {
	return objectMeta{Bucket: bucket, Key: o.Key, ETag: o.ETag, ContentType: o.ContentType, LastModified: o.LastModified,
		Headers: o.Headers, Metadata: o.Metadata, ChecksumAlgorithm: o.ChecksumAlgorithm, Checksum: o.Checksum, Parts: o.Parts}
}

func loadUpload(dir string, buckets map[string]*Bucket) error {
	b, err := os.ReadFile(filepath.Join(dir, "meta"))
	if errors.Is(err, fs.ErrNotExist) { // created and killed before its meta: never acknowledged
		return os.RemoveAll(dir)
	}
	if err != nil {
		return err
	}
	var m uploadMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	bk, ok := buckets[m.Bucket]
	if !ok || m.ID != filepath.Base(dir) {
		return nil
	}
	u := &Upload{ID: m.ID, Key: m.Key, Initiated: m.Initiated, Template: *m.Template.object(), parts: map[int]*Part{}}
	parts, _ := os.ReadDir(dir)
	for _, p := range parts {
		n, err := strconv.Atoi(p.Name())
		if err != nil || n < 1 || n > MaxPartNumber {
			continue
		}
		body, err := os.ReadFile(filepath.Join(dir, p.Name()))
		if err != nil {
			return err
		}
		info, _ := p.Info()
		var mod time.Time
		if info != nil {
			mod = info.ModTime().UTC().Truncate(time.Millisecond)
		}
		u.parts[n] = &Part{Number: n, Body: body, ETag: ETagOf(body), LastModified: mod}
	}
	bk.uploads[u.ID] = u
	return nil
}

// putObject writes an object's file.
func (j *journal) putObject(bucket string, o *Object) error {
	meta, err := json.Marshal(metaOf(bucket, o))
	if err != nil {
		return err
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(meta)))
	return writeAtomic(j.objectPath(bucket, o.Key), []byte(objectMagic), n[:], meta, o.Body)
}

func (j *journal) deleteObject(bucket, key string) error {
	p := j.objectPath(bucket, key)
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return syncDir(filepath.Dir(p))
}

func (j *journal) writeBuckets(entries []savedBucket) error {
	b, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(j.dir, bucketsFile), b)
}

func (j *journal) uploadDir(id string) string { return filepath.Join(j.dir, uploadsDir, id) }

func (j *journal) createUpload(bucket string, u *Upload) error {
	b, err := json.Marshal(uploadMeta{Bucket: bucket, ID: u.ID, Key: u.Key, Initiated: u.Initiated, Template: metaOf(bucket, &u.Template)})
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(j.uploadDir(u.ID), "meta"), b)
}

func (j *journal) putPart(uploadID string, p *Part) error {
	return writeAtomic(filepath.Join(j.uploadDir(uploadID), strconv.Itoa(p.Number)), p.Body)
}

func (j *journal) removeUpload(id string) error {
	if err := os.RemoveAll(j.uploadDir(id)); err != nil {
		return err
	}
	return syncDir(filepath.Join(j.dir, uploadsDir))
}

// writeAtomic writes the concatenation of parts to path: a temporary file
// in the same directory, fsync, rename over path, fsync of the directory.
// A kill leaves the old file or the new one, never a part of it. Missing
// directories are created (mode 0700) and their parent synced.
func writeAtomic(path string, parts ...[]byte) (err error) {
	dir := filepath.Dir(path)
	if _, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return err
		}
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(dir, ".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	for _, p := range parts {
		if _, err = f.Write(p); err != nil {
			return err
		}
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// errNotStored is the answer to a change the state directory could not
// take; the change is not made.
func errNotStored(err error) *awsproto.Error {
	return &awsproto.Error{Status: http.StatusInternalServerError, Code: "InternalError",
		Message: "the sandbox could not write the change to its state directory: " + err.Error(), Receiver: true}
}
