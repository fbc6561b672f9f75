package s3

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/callctx"
	"github.com/tipctl/tipctl/sandbox/env"
)

// Namespace is the XML namespace of S3 replies.
const Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// verifyOptions are S3's SigV4 rules: paths are escaped once, and an unknown
// key is InvalidAccessKeyId.
var verifyOptions = awsproto.VerifyOptions{DisableURIPathEscaping: true, UnknownKeyCode: "InvalidAccessKeyId", S3: true}

// Handler serves the S3 REST API, path-style.
type Handler struct {
	Env   *env.Env
	Store *Store
}

// New builds the S3 state from the world and its handler.
func New(e *env.Env) (*Handler, error) {
	st, err := NewStore(e.World, e.Now)
	if err != nil {
		return nil, err
	}
	return &Handler{Env: e, Store: st}, nil
}

// call is one S3 request being served.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	rid    string
	op     string
	bucket string
	key    string
	p      *auth.Principal
	// body is the decoded payload (only for operations that take one).
	body []byte
	// checksums are the flexible checksums the client sent (header or
	// trailer), by algorithm, already verified against body.
	checksums map[string]string
}

func (c *call) fail(e *awsproto.Error) { awsproto.WriteError(c.w, awsproto.RestXML, e, c.rid) }

// reply writes an XML document (v's XMLName carries the S3 namespace).
func (c *call) reply(status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		c.fail(&awsproto.Error{Status: 500, Code: "InternalError", Message: "could not encode the reply", Receiver: true})
		return
	}
	awsproto.SetRequestIDHeaders(c.w, awsproto.RestXML, c.rid)
	c.w.Header().Set("Content-Type", "application/xml")
	c.w.WriteHeader(status)
	_, _ = c.w.Write([]byte(xml.Header))
	_, _ = c.w.Write(b)
}

// empty writes a reply without a body.
func (c *call) empty(status int) {
	awsproto.SetRequestIDHeaders(c.w, awsproto.RestXML, c.rid)
	c.w.WriteHeader(status)
}

// subresources S3 has but the sandbox does not serve.
var unsupported = []string{"acl", "policy", "policyStatus", "versioning", "versions", "cors", "tagging", "lifecycle",
	"encryption", "website", "logging", "notification", "replication", "requestPayment", "ownershipControls",
	"publicAccessBlock", "object-lock", "accelerate", "analytics", "inventory", "metrics", "intelligent-tiering",
	"retention", "legal-hold", "torrent", "attributes", "restore", "select", "session", "metadataTable"}

// operation names the S3 operation of r. Body-carrying operations are
// marked so that the pipeline reads and decodes their payload.
func operation(r *http.Request, bucket, key string) (op string, takesBody bool) {
	q := r.URL.Query()
	for _, s := range unsupported {
		if q.Has(s) {
			return "", false
		}
	}
	has := q.Has
	copySource := r.Header.Get("X-Amz-Copy-Source") != ""
	switch {
	case bucket == "":
		if r.Method == http.MethodGet {
			return "ListBuckets", false
		}
	case key == "":
		switch r.Method {
		case http.MethodGet:
			switch {
			case has("location"):
				return "GetBucketLocation", false
			case has("uploads"):
				return "ListMultipartUploads", false
			case q.Get("list-type") == "2":
				return "ListObjectsV2", false
			}
			return "ListObjects", false
		case http.MethodHead:
			return "HeadBucket", false
		case http.MethodPut:
			return "CreateBucket", true
		case http.MethodDelete:
			return "DeleteBucket", false
		case http.MethodPost:
			if has("delete") {
				return "DeleteObjects", true
			}
		}
	default:
		switch r.Method {
		case http.MethodGet:
			if has("uploadId") {
				return "ListParts", false
			}
			return "GetObject", false
		case http.MethodHead:
			return "HeadObject", false
		case http.MethodPut:
			switch {
			case has("uploadId") && copySource:
				return "UploadPartCopy", false
			case has("uploadId"):
				return "UploadPart", true
			case copySource:
				return "CopyObject", false
			}
			return "PutObject", true
		case http.MethodDelete:
			if has("uploadId") {
				return "AbortMultipartUpload", false
			}
			return "DeleteObject", false
		case http.MethodPost:
			switch {
			case has("uploads"):
				return "CreateMultipartUpload", false
			case has("uploadId"):
				return "CompleteMultipartUpload", true
			}
		}
	}
	return "", false
}

// ServeHTTP serves one S3 request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{w: w, r: r, rid: awsproto.NewRequestID()}
	// Clients correct their clock skew from Date: give the sandbox's clock.
	w.Header().Set("Date", h.Env.Now().Format(http.TimeFormat))
	c.bucket, c.key, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	op, takesBody := operation(r, c.bucket, c.key)
	if op == "" {
		h.Env.Stats.Inc("s3:Unsupported")
		c.fail(awsproto.Errorf(http.StatusNotImplemented, "NotImplemented",
			"the sandbox does not implement %s %s with these parameters; it serves buckets, objects, listings and multipart uploads", r.Method, awsproto.Truncate(r.URL.Path, 100)))
		return
	}
	c.op = op
	h.Env.Stats.Inc("s3:" + op)
	callctx.SetOperation(r.Context(), op)
	limit := int64(awsproto.MaxAPIBody)
	if op == "PutObject" || op == "UploadPart" {
		limit = h.Store.MaxObject()
	}
	if e := h.authenticate(c, takesBody, limit); e != nil {
		c.fail(e)
		return
	}
	switch op {
	case "ListBuckets":
		h.listBuckets(c)
	case "GetBucketLocation":
		h.getBucketLocation(c)
	case "ListMultipartUploads":
		h.listMultipartUploads(c)
	case "ListObjectsV2":
		h.listObjects(c, true)
	case "ListObjects":
		h.listObjects(c, false)
	case "HeadBucket":
		h.headBucket(c)
	case "CreateBucket":
		h.createBucket(c)
	case "DeleteBucket":
		h.deleteBucket(c)
	case "DeleteObjects":
		h.deleteObjects(c)
	case "GetObject", "HeadObject":
		h.getObject(c, op == "HeadObject")
	case "PutObject":
		h.putObject(c)
	case "CopyObject":
		h.copyObject(c)
	case "DeleteObject":
		h.deleteObject(c)
	case "CreateMultipartUpload":
		h.createMultipartUpload(c)
	case "UploadPart":
		h.uploadPart(c)
	case "UploadPartCopy":
		h.uploadPartCopy(c)
	case "CompleteMultipartUpload":
		h.completeMultipartUpload(c)
	case "AbortMultipartUpload":
		h.abortMultipartUpload(c)
	case "ListParts":
		h.listParts(c)
	}
}

// readAll reads a body of at most limit bytes. A declared Content-Length
// over the limit is refused before a byte is read, and a known length
// sizes the buffer once (io.ReadAll would double it as it grows). When
// sum is set, the body is hashed as it arrives.
func readAll(r *http.Request, limit int64, sum hash.Hash) ([]byte, *awsproto.Error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, entityTooLarge(limit)
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + 1)
	}
	var src io.Reader = io.LimitReader(r.Body, limit+1)
	if sum != nil {
		src = io.TeeReader(src, sum)
	}
	if _, err := buf.ReadFrom(src); err != nil {
		return nil, incompleteBody("You did not provide the number of bytes specified by the Content-Length HTTP header.")
	}
	if int64(buf.Len()) > limit {
		return nil, entityTooLarge(limit)
	}
	return buf.Bytes(), nil
}

func entityTooLarge(limit int64) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size (%d bytes in the sandbox)", limit)
}

// authenticate verifies the signature (SigV2, SigV4 header or presigned)
// before it reads a byte of the body, then reads and decodes the payload:
// plain, sha256-checked as it arrives, or aws-chunked (unsigned with
// trailers, or signed chunk by chunk), and verifies the flexible checksums
// and Content-MD5 the client sent. A header-signed SigV4 request must
// declare its payload hash in X-Amz-Content-Sha256, as S3 requires: the
// signature covers that declaration, so nothing is buffered for a caller
// that cannot sign.
func (h *Handler) authenticate(c *call, takesBody bool, limit int64) *awsproto.Error {
	r := c.r
	if !takesBody {
		limit = awsproto.MaxAPIBody
	}
	if isSigV2(r) {
		var e *awsproto.Error
		if c.p, e = h.verifySigV2(r); e != nil {
			return e
		}
		callctx.SetPrincipal(r.Context(), c.p)
		raw, e := readAll(r, limit, nil)
		if e != nil {
			return e
		}
		c.body = raw
		return c.verifyChecksums(nil)
	}
	if !awsproto.IsSigned(r) {
		return awsproto.AccessDenied("Access Denied: anonymous requests are not allowed; sign requests with SigV4 (the sandbox's admin keys are on /_sandbox/info)")
	}
	sha := r.Header.Get("X-Amz-Content-Sha256")
	presigned := r.Header.Get("Authorization") == ""
	if sha == "" && !presigned {
		return awsproto.Errorf(http.StatusBadRequest, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
	}
	var e *awsproto.Error
	if c.p, e = h.Env.Authenticate(r, nil, verifyOptions); e != nil {
		return e
	}
	chunked := strings.Contains(strings.ToLower(r.Header.Get("Content-Encoding")), "aws-chunked")
	var sum hash.Hash
	if len(sha) == 64 && !chunked {
		sum = sha256.New()
	}
	slack := int64(0)
	if chunked || strings.HasPrefix(sha, "STREAMING-") {
		slack = 64 << 10 // chunk headers and signatures
	}
	raw, e := readAll(r, limit+slack, sum)
	if e != nil {
		return e
	}
	var trailers map[string]string
	switch {
	case strings.HasPrefix(sha, "STREAMING-"):
		var signer *chunkSigner
		switch sha {
		case streamingUnsignedTrailer:
		case streamingSigned, streamingSignedTrailer:
			sig, err := awsproto.ParseAuthorization(r.Header.Get("Authorization"))
			if err != nil || presigned {
				return awsproto.Errorf(http.StatusBadRequest, "InvalidRequest", "a signed aws-chunked payload needs an Authorization header")
			}
			signer = newChunkSigner(c.p.SecretAccessKey, r.Header.Get("X-Amz-Date"), sig.Date, sig.Region, sig.Service, sig.Signature)
		default:
			return awsproto.Errorf(http.StatusBadRequest, "InvalidArgument",
				"x-amz-content-sha256 %q is not supported by the sandbox (use a SHA-256 hex digest, UNSIGNED-PAYLOAD, %s, %s or %s)",
				awsproto.Truncate(sha, 60), streamingUnsignedTrailer, streamingSigned, streamingSignedTrailer)
		}
		if c.body, trailers, e = decodeChunked(raw, signer, sha == streamingSignedTrailer); e != nil {
			return e
		}
		if dl := r.Header.Get("X-Amz-Decoded-Content-Length"); dl != "" && dl != strconv.Itoa(len(c.body)) {
			return incompleteBody("x-amz-decoded-content-length is %s but the aws-chunked body holds %d bytes", awsproto.Truncate(dl, 20), len(c.body))
		}
	case chunked:
		if c.body, trailers, e = decodeChunked(raw, nil, false); e != nil {
			return e
		}
	case sha == "" || sha == unsignedPayload:
		c.body = raw
	default:
		if sum == nil {
			return awsproto.Errorf(http.StatusBadRequest, "InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-… or a valid SHA-256 hex digest")
		}
		if !strings.EqualFold(hex.EncodeToString(sum.Sum(nil)), sha) {
			return awsproto.Errorf(http.StatusBadRequest, "XAmzContentSHA256Mismatch",
				"The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
		c.body = raw
	}
	if int64(len(c.body)) > limit {
		return entityTooLarge(limit)
	}
	return c.verifyChecksums(trailers)
}

// verifyChecksums checks Content-MD5 and the x-amz-checksum-* headers and
// trailers against the decoded body.
func (c *call) verifyChecksums(trailers map[string]string) *awsproto.Error {
	r := c.r
	if m := r.Header.Get("Content-MD5"); m != "" {
		want, err := base64.StdEncoding.DecodeString(m)
		if err != nil || len(want) != md5.Size {
			return awsproto.Errorf(http.StatusBadRequest, "InvalidDigest", "The Content-MD5 you specified is not valid.")
		}
		if got := md5.Sum(c.body); !bytes.Equal(got[:], want) {
			return awsproto.Errorf(http.StatusBadRequest, "BadDigest", "The Content-MD5 you specified did not match what we received.")
		}
	}
	for _, name := range strings.Split(r.Header.Get("X-Amz-Trailer"), ",") {
		if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
			if _, ok := trailers[name]; !ok {
				return malformedTrailer("the trailer %s announced in x-amz-trailer did not come after the body", awsproto.Truncate(name, 60))
			}
		}
	}
	for _, alg := range ChecksumAlgorithms {
		hdr := ChecksumHeader(alg)
		v := r.Header.Get(hdr)
		if tv, ok := trailers[hdr]; ok {
			v = tv
		}
		if v == "" {
			continue
		}
		if ComputeChecksum(alg, c.body) != v {
			return checksumMismatch(alg)
		}
		if c.checksums == nil {
			c.checksums = map[string]string{}
		}
		c.checksums[alg] = v
	}
	return nil
}

// authorize evaluates the caller's identity policies; the administrator may
// do everything.
func (c *call) authorize(action, resource string, ctx map[string][]string) *awsproto.Error {
	if c.p.Admin {
		return nil
	}
	x := c.p.Explain(action, resource, ctx)
	if x.Decision != iampolicy.Allow {
		callctx.Deny(c.r.Context(), callctx.IdentityPolicy(c.p, action, resource, x))
	}
	switch x.Decision {
	case iampolicy.Allow:
		return nil
	case iampolicy.ExplicitDeny:
		return awsproto.AccessDenied("User: %s is not authorized to perform: %s on resource: \"%s\" with an explicit deny in an identity-based policy",
			c.p.Arn, action, awsproto.Truncate(resource, 300))
	}
	return awsproto.AccessDenied("User: %s is not authorized to perform: %s on resource: \"%s\" because no identity-based policy allows the %s action",
		c.p.Arn, action, awsproto.Truncate(resource, 300), action)
}

// BucketARN and ObjectARN name S3 resources in policies.
func BucketARN(bucket string) string      { return "arn:aws:s3:::" + bucket }
func ObjectARN(bucket, key string) string { return "arn:aws:s3:::" + bucket + "/" + key }
