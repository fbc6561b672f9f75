package s3

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tipctl/tipctl/sandbox/awsproto"
)

// listTime is how S3 writes timestamps in XML bodies.
const listTime = "2006-01-02T15:04:05.000Z"

// keptHeaders are the representation headers stored with an object.
var keptHeaders = []string{"Content-Disposition", "Content-Language", "Cache-Control", "Expires"}

// objectFromRequest builds the object's content type, headers and metadata
// from a PutObject or CreateMultipartUpload request.
func objectFromRequest(r *http.Request, key string) Object {
	o := Object{Key: key, ContentType: r.Header.Get("Content-Type"), Headers: map[string]string{}, Metadata: map[string]string{}}
	for _, h := range keptHeaders {
		if v := r.Header.Get(h); v != "" {
			o.Headers[h] = v
		}
	}
	var enc []string
	for _, e := range strings.Split(r.Header.Get("Content-Encoding"), ",") {
		if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
			enc = append(enc, e)
		}
	}
	if len(enc) > 0 {
		o.Headers["Content-Encoding"] = strings.Join(enc, ",")
	}
	for name, vals := range r.Header {
		if m, ok := strings.CutPrefix(strings.ToLower(name), "x-amz-meta-"); ok && len(vals) > 0 {
			o.Metadata[m] = strings.Join(vals, ",")
		}
	}
	return o
}

func (h *Handler) putObject(c *call) {
	if e := c.authorize("s3:PutObject", ObjectARN(c.bucket, c.key), nil); e != nil {
		c.fail(e)
		return
	}
	o := objectFromRequest(c.r, c.key)
	o.Body = c.body
	for _, alg := range ChecksumAlgorithms {
		if v, ok := c.checksums[alg]; ok {
			o.ChecksumAlgorithm, o.Checksum = alg, v
			break
		}
	}
	if o.ChecksumAlgorithm == "" {
		if alg := strings.ToUpper(c.r.Header.Get("X-Amz-Sdk-Checksum-Algorithm")); ComputeChecksum(alg, nil) != "" {
			o.ChecksumAlgorithm, o.Checksum = alg, ComputeChecksum(alg, o.Body)
		}
	}
	stored, e := h.Store.Put(c.bucket, &o)
	if e != nil {
		c.fail(e)
		return
	}
	c.w.Header().Set("ETag", stored.ETag)
	if stored.ChecksumAlgorithm != "" {
		c.w.Header().Set(ChecksumHeader(stored.ChecksumAlgorithm), stored.Checksum)
		c.w.Header().Set("x-amz-checksum-type", "FULL_OBJECT")
	}
	c.empty(http.StatusOK)
}

// byteRange parses a single "bytes=a-b" range against size. ok is false
// when the header is absent, malformed or asks for several ranges: S3 then
// serves the whole object.
func byteRange(h string, size int64) (start, end int64, ok bool, e *awsproto.Error) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, nil
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, nil
	}
	unsatisfiable := awsproto.Errorf(http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable")
	if first == "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false, nil
		}
		if n == 0 || size == 0 {
			return 0, 0, false, unsatisfiable
		}
		return max(0, size-n), size - 1, true, nil
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a < 0 {
		return 0, 0, false, nil
	}
	b := size - 1
	if last != "" {
		if b, err = strconv.ParseInt(last, 10, 64); err != nil || b < a {
			return 0, 0, false, nil
		}
	}
	if a >= size {
		return 0, 0, false, unsatisfiable
	}
	return a, min(b, size-1), true, nil
}

func etagMatches(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || strings.Trim(t, `"`) == strings.Trim(etag, `"`) {
			return true
		}
	}
	return false
}

// preconditions applies If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since; it returns 0 to go on, or the status to reply with.
func preconditions(r *http.Request, o *Object) int {
	lm := o.LastModified.Truncate(time.Second)
	im, inm := r.Header.Get("If-Match"), r.Header.Get("If-None-Match")
	if im != "" && !etagMatches(im, o.ETag) {
		return http.StatusPreconditionFailed
	}
	if im == "" {
		if t, err := http.ParseTime(r.Header.Get("If-Unmodified-Since")); err == nil && lm.After(t) {
			return http.StatusPreconditionFailed
		}
	}
	if inm != "" && etagMatches(inm, o.ETag) {
		return http.StatusNotModified
	}
	if inm == "" {
		if t, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !lm.After(t) {
			return http.StatusNotModified
		}
	}
	return 0
}

// responseOverrides are the query parameters of a (presigned) GetObject
// that replace reply headers.
var responseOverrides = map[string]string{
	"response-content-type": "Content-Type", "response-content-disposition": "Content-Disposition",
	"response-content-encoding": "Content-Encoding", "response-content-language": "Content-Language",
	"response-cache-control": "Cache-Control", "response-expires": "Expires",
}

func (h *Handler) getObject(c *call, head bool) {
	if e := c.authorize("s3:GetObject", ObjectARN(c.bucket, c.key), nil); e != nil {
		c.fail(e)
		return
	}
	o, e := h.Store.Get(c.bucket, c.key)
	if e != nil {
		// S3 tells a caller that a key does not exist only when it may
		// list the bucket: without s3:ListBucket (scoped credentials of
		// Access Grants list only under a prefix condition) it is 403.
		if e.Code == "NoSuchKey" && c.authorize("s3:ListBucket", BucketARN(c.bucket), nil) != nil {
			e = awsproto.AccessDenied("Access Denied")
		}
		c.fail(e)
		return
	}
	hd := c.w.Header()
	hd.Set("ETag", o.ETag)
	hd.Set("Last-Modified", o.LastModified.UTC().Format(http.TimeFormat))
	if st := preconditions(c.r, o); st != 0 {
		if st == http.StatusPreconditionFailed {
			hd.Del("ETag")
			hd.Del("Last-Modified")
			c.fail(awsproto.Errorf(st, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"))
			return
		}
		c.empty(st)
		return
	}
	size := o.Size()
	start, end, ranged, e := byteRange(c.r.Header.Get("Range"), size)
	if e != nil {
		hd.Del("ETag")
		hd.Del("Last-Modified")
		hd.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		c.fail(e)
		return
	}
	hd.Set("Accept-Ranges", "bytes")
	hd.Set("Content-Type", o.ContentType)
	for k, v := range o.Headers {
		hd.Set(k, v)
	}
	for k, v := range o.Metadata {
		hd["X-Amz-Meta-"+k] = []string{v}
	}
	q := c.r.URL.Query()
	for param, header := range responseOverrides {
		if v := q.Get(param); v != "" {
			hd.Set(header, v)
		}
	}
	if o.Parts > 0 {
		hd.Set("x-amz-mp-parts-count", strconv.Itoa(o.Parts))
	}
	if !ranged && o.ChecksumAlgorithm != "" && strings.EqualFold(c.r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") {
		hd.Set(ChecksumHeader(o.ChecksumAlgorithm), o.Checksum)
		hd.Set("x-amz-checksum-type", "FULL_OBJECT")
	}
	body := o.Body
	status := http.StatusOK
	if ranged {
		body = o.Body[start : end+1]
		status = http.StatusPartialContent
		hd.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(end, 10)+"/"+strconv.FormatInt(size, 10))
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	awsproto.SetRequestIDHeaders(c.w, awsproto.RestXML, c.rid)
	c.w.WriteHeader(status)
	if !head {
		_, _ = c.w.Write(body)
	}
}

func (h *Handler) deleteObject(c *call) {
	if e := c.authorize("s3:DeleteObject", ObjectARN(c.bucket, c.key), nil); e != nil {
		c.fail(e)
		return
	}
	if e := h.Store.Delete(c.bucket, c.key); e != nil {
		c.fail(e)
		return
	}
	c.empty(http.StatusNoContent)
}

// copySource parses x-amz-copy-source: [/]bucket/key[?versionId=…], URL-encoded.
func copySource(v string) (bucket, key string, e *awsproto.Error) {
	v, _, _ = strings.Cut(v, "?")
	dec, err := url.PathUnescape(strings.TrimPrefix(v, "/"))
	if err == nil {
		bucket, key, _ = strings.Cut(dec, "/")
	}
	if err != nil || bucket == "" || key == "" {
		return "", "", awsproto.Errorf(http.StatusBadRequest, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	return bucket, key, nil
}

// source authorizes and reads the object named by x-amz-copy-source.
func (h *Handler) source(c *call) (*Object, *awsproto.Error) {
	sb, sk, e := copySource(c.r.Header.Get("X-Amz-Copy-Source"))
	if e != nil {
		return nil, e
	}
	if e := c.authorize("s3:GetObject", ObjectARN(sb, sk), nil); e != nil {
		return nil, e
	}
	return h.Store.Get(sb, sk)
}

type copyResult struct {
	XMLName      xml.Name
	ETag         string `xml:"ETag"`
	LastModified string `xml:"LastModified"`
}

func (h *Handler) copyObject(c *call) {
	if e := c.authorize("s3:PutObject", ObjectARN(c.bucket, c.key), nil); e != nil {
		c.fail(e)
		return
	}
	src, e := h.source(c)
	if e != nil {
		c.fail(e)
		return
	}
	replace := strings.EqualFold(c.r.Header.Get("X-Amz-Metadata-Directive"), "REPLACE")
	sb, sk, _ := copySource(c.r.Header.Get("X-Amz-Copy-Source"))
	if sb == c.bucket && sk == c.key && !replace {
		c.fail(awsproto.Errorf(http.StatusBadRequest, "InvalidRequest",
			"This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."))
		return
	}
	o := *src
	if replace {
		tmpl := objectFromRequest(c.r, c.key)
		o.ContentType, o.Headers, o.Metadata = tmpl.ContentType, tmpl.Headers, tmpl.Metadata
	}
	o.Key = c.key
	if o.Parts > 0 {
		// A copy is a single-part object with its own ETag and checksum.
		o.Parts, o.ETag = 0, ""
	}
	stored, e := h.Store.Put(c.bucket, &o)
	if e != nil {
		c.fail(e)
		return
	}
	c.reply(http.StatusOK, copyResult{XMLName: xml.Name{Space: Namespace, Local: "CopyObjectResult"},
		ETag: stored.ETag, LastModified: stored.LastModified.UTC().Format(listTime)})
}

type deleteRequest struct {
	Quiet   bool `xml:"Quiet"`
	Objects []struct {
		Key string `xml:"Key"`
	} `xml:"Object"`
}

type deleteResult struct {
	XMLName xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ DeleteResult"`
	Deleted []deletedEntry `xml:"Deleted"`
	Errors  []deleteError  `xml:"Error"`
}

type deletedEntry struct {
	Key string `xml:"Key"`
}

type deleteError struct {
	Key     string `xml:"Key"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func (h *Handler) deleteObjects(c *call) {
	var req deleteRequest
	if err := xml.Unmarshal(c.body, &req); err != nil {
		c.fail(awsproto.Errorf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema"))
		return
	}
	if len(req.Objects) == 0 || len(req.Objects) > 1000 {
		c.fail(awsproto.Errorf(http.StatusBadRequest, "MalformedXML", "a Delete request names between 1 and 1000 objects (got %d)", len(req.Objects)))
		return
	}
	if !h.Store.BucketExists(c.bucket) {
		if e := c.authorize("s3:DeleteObject", ObjectARN(c.bucket, "*"), nil); e != nil {
			c.fail(e)
			return
		}
		c.fail(errNoSuchBucket(c.bucket))
		return
	}
	res := deleteResult{}
	for _, o := range req.Objects {
		if e := c.authorize("s3:DeleteObject", ObjectARN(c.bucket, o.Key), nil); e != nil {
			res.Errors = append(res.Errors, deleteError{Key: o.Key, Code: e.Code, Message: e.Message})
			continue
		}
		if e := validKey(o.Key); e != nil {
			res.Errors = append(res.Errors, deleteError{Key: o.Key, Code: e.Code, Message: e.Message})
			continue
		}
		if e := h.Store.Delete(c.bucket, o.Key); e != nil {
			res.Errors = append(res.Errors, deleteError{Key: o.Key, Code: e.Code, Message: e.Message})
			continue
		}
		if !req.Quiet {
			res.Deleted = append(res.Deleted, deletedEntry{Key: o.Key})
		}
	}
	c.reply(http.StatusOK, res)
}
