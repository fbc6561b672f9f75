// Package s3 is the sandbox's S3: buckets and objects kept in memory (state,
// this file and list.go) and the restXml wire handlers (handlers.go), served
// path-style. Every request is SigV4-checked and authorized against the
// caller's identity policies; credentials vended by S3 Access Grants carry a
// generated scope policy and so reach only their grant's prefix.
package s3

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tipctl/tipctl/internal/lazyre"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/world"
)

// Limits of the in-memory store.
const (
	// MaxKeyLength is S3's limit on key length in bytes.
	MaxKeyLength = 1024
	// MaxPartNumber is the highest multipart part number.
	MaxPartNumber = 10000
	// MinPartSize is the smallest size of every part but the last.
	MinPartSize = 5 << 20
	// MaxObjectSize is the default bound of one object (and one request
	// body) in the sandbox; Store.SetMaxObjectSize changes it.
	MaxObjectSize = 1 << 30
)

// Object is a stored object. Its Body is never modified after it is stored.
type Object struct {
	Key          string
	Body         []byte
	ETag         string // quoted, as S3 sends it
	ContentType  string
	LastModified time.Time
	// Headers are the other representation headers kept with the object
	// (Content-Encoding, Content-Disposition, Cache-Control, Content-Language, Expires).
	Headers map[string]string
	// Metadata are the x-amz-meta-* user metadata, keys lower case without the prefix.
	Metadata map[string]string
	// Checksum is the full-object checksum: Algorithm (CRC32, CRC32C,
	// CRC64NVME, SHA1, SHA256) and its base64 Value. Empty for multipart objects.
	ChecksumAlgorithm string
	Checksum          string
	// Parts is the number of parts of a multipart object (0 otherwise).
	Parts int
}

// Size is the object's length in bytes.
func (o *Object) Size() int64 { return int64(len(o.Body)) }

// Bucket is a bucket and its objects.
type Bucket struct {
	Name    string
	Created time.Time
	objects map[string]*Object
	uploads map[string]*Upload
}

// Upload is a multipart upload in progress.
type Upload struct {
	ID        string
	Key       string
	Initiated time.Time
	// Template holds the content type, headers and metadata given at creation.
	Template Object
	parts    map[int]*Part
}

// Part is one uploaded part.
type Part struct {
	Number       int
	Body         []byte
	ETag         string
	LastModified time.Time
}

// Store is the S3 state of the sandbox: every bucket with its objects and
// multipart uploads. It is safe for concurrent use.
type Store struct {
	Region string
	// Owner is the canonical user id of the account.
	Owner string
	now   func() time.Time

	mu      sync.RWMutex
	buckets map[string]*Bucket
	// maxObject overrides MaxObjectSize when positive.
	maxObject atomic.Int64
	// journal, when set (Persist, before serving), writes every change
	// to the state directory before it is acknowledged.
	journal *journal
}

// SetMaxObjectSize bounds the size of one object (and so of one upload
// body); n <= 0 restores the default, MaxObjectSize.
func (s *Store) SetMaxObjectSize(n int64) { s.maxObject.Store(n) }

// MaxObject is the largest object the store accepts.
func (s *Store) MaxObject() int64 {
	if n := s.maxObject.Load(); n > 0 {
		return n
	}
	return MaxObjectSize
}

var (
	bucketNameRe = lazyre.New(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	ipAddressRe  = lazyre.New(`^\d+\.\d+\.\d+\.\d+$`)
)

// ValidBucketName reports whether name follows S3's bucket naming rules.
func ValidBucketName(name string) bool {
	return bucketNameRe.MatchString(name) && !strings.Contains(name, "..") &&
		!ipAddressRe.MatchString(name)
}

// NewStore builds the store from the world's buckets and objects. now is the
// sandbox clock.
func NewStore(w *world.World, now func() time.Time) (*Store, error) {
	s := &Store{Region: w.Region, Owner: world.StableHex(64, "canonical-user", w.AccountID), now: now,
		buckets: map[string]*Bucket{}}
	for _, b := range w.S3.Buckets {
		if err := s.CreateBucket(b.Name); err != nil {
			return nil, err
		}
		for _, o := range b.Objects {
			ct := o.ContentType
			if ct == "" {
				ct = "binary/octet-stream"
			}
			if _, err := s.Put(b.Name, &Object{Key: o.Key, Body: []byte(o.Content), ContentType: ct}); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// Errors of the store, as S3 names them.

func errNoSuchBucket(name string) *awsproto.Error {
	return awsproto.Errorf(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist: %s", awsproto.Truncate(name, 80))
}

func errNoSuchKey() *awsproto.Error {
	return awsproto.Errorf(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
}

func errNoSuchUpload() *awsproto.Error {
	return awsproto.Errorf(http.StatusNotFound, "NoSuchUpload",
		"The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
}

// CreateBucket adds an empty bucket.
func (s *Store) CreateBucket(name string) *awsproto.Error {
	if !ValidBucketName(name) {
		return awsproto.Errorf(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid: %q", awsproto.Truncate(name, 80))
	}
	if j := s.journal; j != nil {
		j.bucketsMu.Lock()
		defer j.bucketsMu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.buckets[name]; ok {
		return awsproto.Errorf(http.StatusConflict, "BucketAlreadyOwnedByYou",
			"Your previous request to create the named bucket succeeded and you already own it.")
	}
	b := &Bucket{Name: name, Created: s.now(), objects: map[string]*Object{}, uploads: map[string]*Upload{}}
	if j := s.journal; j != nil {
		if err := j.writeBuckets(append(s.bucketEntriesLocked(), savedBucket{Name: name, Created: b.Created})); err != nil {
			return errNotStored(err)
		}
	}
	s.buckets[name] = b
	return nil
}

// DeleteBucket removes an empty bucket.
func (s *Store) DeleteBucket(name string) *awsproto.Error {
	if j := s.journal; j != nil {
		j.bucketsMu.Lock()
		defer j.bucketsMu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[name]
	if !ok {
		return errNoSuchBucket(name)
	}
	if len(b.objects) > 0 {
		return awsproto.Errorf(http.StatusConflict, "BucketNotEmpty", "The bucket you tried to delete is not empty")
	}
	if j := s.journal; j != nil {
		entries := make([]savedBucket, 0, len(s.buckets))
		for _, e := range s.bucketEntriesLocked() {
			if e.Name != name {
				entries = append(entries, e)
			}
		}
		if err := j.writeBuckets(entries); err != nil {
			return errNotStored(err)
		}
		for id := range b.uploads {
			_ = j.removeUpload(id) // the bucket is gone: its uploads are unreachable
		}
	}
	delete(s.buckets, name)
	return nil
}

// BucketInfo is a bucket's name and creation time.
type BucketInfo struct {
	Name    string
	Created time.Time
}

// Buckets lists the buckets sorted by name.
func (s *Store) Buckets() []BucketInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]BucketInfo, 0, len(s.buckets))
	for _, b := range s.buckets {
		out = append(out, BucketInfo{Name: b.Name, Created: b.Created})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// BucketNames lists the bucket names, sorted.
func (s *Store) BucketNames() []string {
	bs := s.Buckets()
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Name
	}
	return out
}

// BucketExists reports whether the bucket exists (env.ObjectStore).
func (s *Store) BucketExists(name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.buckets[name]
	return ok
}

// ETagOf returns S3's quoted MD5 ETag of body.
func ETagOf(body []byte) string {
	sum := md5.Sum(body)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func validKey(key string) *awsproto.Error {
	if key == "" {
		return awsproto.Errorf(http.StatusBadRequest, "InvalidArgument", "the object key is empty")
	}
	if len(key) > MaxKeyLength {
		return awsproto.Errorf(http.StatusBadRequest, "KeyTooLongError", "Your key is too long (%d bytes; the limit is %d)", len(key), MaxKeyLength)
	}
	return nil
}

// Put stores o (replacing any object with the same key), filling its ETag
// and LastModified. The store keeps o; the caller must not modify it.
func (s *Store) Put(bucket string, o *Object) (*Object, *awsproto.Error) {
	if err := validKey(o.Key); err != nil {
		return nil, err
	}
	if max := s.MaxObject(); int64(len(o.Body)) > max {
		return nil, tooLarge(max)
	}
	if o.ETag == "" {
		o.ETag = ETagOf(o.Body)
	}
	if o.ContentType == "" {
		o.ContentType = "binary/octet-stream"
	}
	if o.ChecksumAlgorithm == "" && o.Parts == 0 {
		// S3 computes a CRC64NVME checksum of every new object by default.
		o.ChecksumAlgorithm, o.Checksum = "CRC64NVME", ComputeChecksum("CRC64NVME", o.Body)
	}
	o.LastModified = s.now().Truncate(time.Millisecond)
	j := s.journal
	if j != nil {
		// The file first, then memory, under the object's stripe: an
		// acknowledged object is on disk, and a failed write changes
		// nothing.
		defer j.lock(bucket, o.Key)()
		if !s.BucketExists(bucket) {
			return nil, errNoSuchBucket(bucket)
		}
		if err := j.putObject(bucket, o); err != nil {
			return nil, errNotStored(err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[bucket]
	if !ok {
		if j != nil { // deleted meanwhile
			_ = j.deleteObject(bucket, o.Key)
		}
		return nil, errNoSuchBucket(bucket)
	}
	b.objects[o.Key] = o
	return o, nil
}

// Get returns the object (shared; do not modify it).
func (s *Store) Get(bucket, key string) (*Object, *awsproto.Error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.buckets[bucket]
	if !ok {
		return nil, errNoSuchBucket(bucket)
	}
	o, ok := b.objects[key]
	if !ok {
		return nil, errNoSuchKey()
	}
	return o, nil
}

// Delete removes an object; deleting a missing key succeeds, as in S3.
func (s *Store) Delete(bucket, key string) *awsproto.Error {
	if j := s.journal; j != nil {
		defer j.lock(bucket, key)()
		if !s.BucketExists(bucket) {
			return errNoSuchBucket(bucket)
		}
		if err := j.deleteObject(bucket, key); err != nil {
			return errNotStored(err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[bucket]
	if !ok {
		return errNoSuchBucket(bucket)
	}
	delete(b.objects, key)
	return nil
}

// PutObject stores an object (env.ObjectStore, for other services).
func (s *Store) PutObject(bucket, key string, body []byte, contentType string) error {
	if _, err := s.Put(bucket, &Object{Key: key, Body: bytes.Clone(body), ContentType: contentType}); err != nil {
		return err
	}
	return nil
}

// GetObject returns a copy of an object's bytes (env.ObjectStore).
func (s *Store) GetObject(bucket, key string) ([]byte, error) {
	o, err := s.Get(bucket, key)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(o.Body), nil
}

// CreateUpload starts a multipart upload; tmpl carries the object's key,
// content type, headers and metadata.
func (s *Store) CreateUpload(bucket string, tmpl Object) (*Upload, *awsproto.Error) {
	if err := validKey(tmpl.Key); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[bucket]
	if !ok {
		return nil, errNoSuchBucket(bucket)
	}
	u := &Upload{ID: auth.RandomToken("", 48), Key: tmpl.Key, Initiated: s.now(), Template: tmpl, parts: map[int]*Part{}}
	if j := s.journal; j != nil {
		if err := j.createUpload(bucket, u); err != nil {
			return nil, errNotStored(err)
		}
	}
	b.uploads[u.ID] = u
	return u, nil
}

func (s *Store) upload(bucket, key, id string) (*Bucket, *Upload, *awsproto.Error) {
	b, ok := s.buckets[bucket]
	if !ok {
		return nil, nil, errNoSuchBucket(bucket)
	}
	u, ok := b.uploads[id]
	if !ok || u.Key != key {
		return nil, nil, errNoSuchUpload()
	}
	return b, u, nil
}

// UploadPart stores one part of an upload.
func (s *Store) UploadPart(bucket, key, uploadID string, number int, body []byte) (*Part, *awsproto.Error) {
	if number < 1 || number > MaxPartNumber {
		return nil, awsproto.Errorf(http.StatusBadRequest, "InvalidArgument", "Part number must be an integer between 1 and %d, inclusive", MaxPartNumber)
	}
	p := &Part{Number: number, Body: body, ETag: ETagOf(body), LastModified: s.now().Truncate(time.Millisecond)}
	if j := s.journal; j != nil {
		// The part's file first, outside the store's lock (a part may
		// be large), ordered with other writes of the same part number.
		defer j.lock(uploadID, strconv.Itoa(number))()
		s.mu.RLock()
		_, _, err := s.upload(bucket, key, uploadID)
		s.mu.RUnlock()
		if err != nil {
			return nil, err
		}
		if err := j.putPart(uploadID, p); err != nil {
			return nil, errNotStored(err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, u, err := s.upload(bucket, key, uploadID)
	if err != nil { // completed or aborted meanwhile: its directory is gone, or has no meta and is dropped at the next start
		return nil, err
	}
	u.parts[number] = p
	return p, nil
}

// PartRef names a part in CompleteMultipartUpload.
type PartRef struct {
	Number int
	ETag   string
}

// CompleteUpload assembles the listed parts into the object.
func (s *Store) CompleteUpload(bucket, key, uploadID string, refs []PartRef) (*Object, *awsproto.Error) {
	s.mu.Lock()
	b, u, err := s.upload(bucket, key, uploadID)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if len(refs) == 0 {
		s.mu.Unlock()
		return nil, awsproto.Errorf(http.StatusBadRequest, "MalformedXML", "You must specify at least one part")
	}
	for i := 1; i < len(refs); i++ {
		if refs[i].Number <= refs[i-1].Number {
			s.mu.Unlock()
			return nil, awsproto.Errorf(http.StatusBadRequest, "InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.")
		}
	}
	var body bytes.Buffer
	var md5s []byte
	for i, ref := range refs {
		p, ok := u.parts[ref.Number]
		if !ok || strings.Trim(ref.ETag, `"`) != strings.Trim(p.ETag, `"`) {
			s.mu.Unlock()
			return nil, awsproto.Errorf(http.StatusBadRequest, "InvalidPart",
				"One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag (part %d).", ref.Number)
		}
		if i < len(refs)-1 && len(p.Body) < MinPartSize {
			s.mu.Unlock()
			return nil, awsproto.Errorf(http.StatusBadRequest, "EntityTooSmall",
				"Your proposed upload is smaller than the minimum allowed size: part %d has %d bytes; every part but the last needs at least %d", ref.Number, len(p.Body), MinPartSize)
		}
		if max := s.MaxObject(); int64(body.Len()+len(p.Body)) > max {
			s.mu.Unlock()
			return nil, tooLarge(max)
		}
		body.Write(p.Body)
		sum, _ := hex.DecodeString(strings.Trim(p.ETag, `"`))
		md5s = append(md5s, sum...)
	}
	delete(b.uploads, uploadID)
	s.mu.Unlock()
	sum := md5.Sum(md5s)
	o := u.Template
	o.Key, o.Body, o.Parts = key, body.Bytes(), len(refs)
	o.ETag = `"` + hex.EncodeToString(sum[:]) + "-" + strconv.Itoa(len(refs)) + `"`
	o.ChecksumAlgorithm, o.Checksum = "", ""
	out, err := s.Put(bucket, &o)
	if j := s.journal; j != nil {
		if err != nil { // not completed: the upload stays
			s.mu.Lock()
			if b, ok := s.buckets[bucket]; ok {
				b.uploads[uploadID] = u
			}
			s.mu.Unlock()
			return nil, err
		}
		// The object is on disk; a kill before this leaves the upload
		// too, which the next start lists (and its parts).
		_ = j.removeUpload(uploadID)
	}
	return out, err
}

// AbortUpload discards an upload and its parts.
func (s *Store) AbortUpload(bucket, key, uploadID string) *awsproto.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _, err := s.upload(bucket, key, uploadID)
	if err != nil {
		return err
	}
	if j := s.journal; j != nil {
		if err := j.removeUpload(uploadID); err != nil {
			return errNotStored(err)
		}
	}
	delete(b.uploads, uploadID)
	return nil
}

// Parts lists an upload's parts in order.
func (s *Store) Parts(bucket, key, uploadID string) (*Upload, []Part, *awsproto.Error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, u, err := s.upload(bucket, key, uploadID)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Part, 0, len(u.parts))
	for _, p := range u.parts {
		out = append(out, Part{Number: p.Number, ETag: p.ETag, LastModified: p.LastModified, Body: p.Body})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return u, out, nil
}

// Uploads lists a bucket's uploads in progress whose key has prefix, by key.
func (s *Store) Uploads(bucket, prefix string) ([]Upload, *awsproto.Error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.buckets[bucket]
	if !ok {
		return nil, errNoSuchBucket(bucket)
	}
	var out []Upload
	for _, u := range b.uploads {
		if strings.HasPrefix(u.Key, prefix) {
			out = append(out, Upload{ID: u.ID, Key: u.Key, Initiated: u.Initiated})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Key != out[j].Key {
			return out[i].Key < out[j].Key
		}
		if !out[i].Initiated.Equal(out[j].Initiated) {
			return out[i].Initiated.Before(out[j].Initiated)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// tooLarge is S3's EntityTooLarge for the sandbox's object size limit.
func tooLarge(max int64) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "EntityTooLarge",
		"Your proposed upload exceeds the maximum allowed size (%d bytes in this sandbox; `tipctl sandbox --max-object-size` changes it)", max)
}
