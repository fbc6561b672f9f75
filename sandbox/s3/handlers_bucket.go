package s3

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tipctl/tipctl/sandbox/awsproto"
)

type owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName,omitempty"`
}

type bucketEntry struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
	BucketRegion string `xml:"BucketRegion,omitempty"`
}

type listAllMyBucketsResult struct {
	XMLName           xml.Name      `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListAllMyBucketsResult"`
	Owner             owner         `xml:"Owner"`
	Buckets           []bucketEntry `xml:"Buckets>Bucket"`
	ContinuationToken string        `xml:"ContinuationToken,omitempty"`
	Prefix            string        `xml:"Prefix,omitempty"`
}

func (h *Handler) owner() owner { return owner{ID: h.Store.Owner, DisplayName: "admin"} }

func (h *Handler) listBuckets(c *call) {
	if e := c.authorize("s3:ListAllMyBuckets", "arn:aws:s3:::*", nil); e != nil {
		c.fail(e)
		return
	}
	q := c.r.URL.Query()
	max := 10000
	if v := q.Get("max-buckets"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			c.fail(awsproto.Errorf(http.StatusBadRequest, "InvalidArgument", "max-buckets must be an integer between 1 and 10000"))
			return
		}
		max = n
	}
	after, e := decodeToken(q.Get("continuation-token"))
	if e != nil {
		c.fail(e)
		return
	}
	prefix := q.Get("prefix")
	res := listAllMyBucketsResult{Owner: h.owner(), Prefix: prefix, Buckets: []bucketEntry{}}
	for _, b := range h.Store.Buckets() {
		if !strings.HasPrefix(b.Name, prefix) || b.Name <= after {
			continue
		}
		if len(res.Buckets) == max {
			res.ContinuationToken = encodeToken(res.Buckets[len(res.Buckets)-1].Name)
			break
		}
		res.Buckets = append(res.Buckets, bucketEntry{Name: b.Name, CreationDate: b.Created.UTC().Format(listTime), BucketRegion: h.Store.Region})
	}
	c.reply(http.StatusOK, res)
}

func (h *Handler) headBucket(c *call) {
	if e := c.authorize("s3:ListBucket", BucketARN(c.bucket), nil); e != nil {
		c.fail(e)
		return
	}
	if !h.Store.BucketExists(c.bucket) {
		c.fail(errNoSuchBucket(c.bucket))
		return
	}
	c.w.Header().Set("x-amz-bucket-region", h.Store.Region)
	c.empty(http.StatusOK)
}

type locationConstraint struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LocationConstraint"`
	Value   string   `xml:",chardata"`
}

func (h *Handler) getBucketLocation(c *call) {
	if e := c.authorize("s3:GetBucketLocation", BucketARN(c.bucket), nil); e != nil {
		c.fail(e)
		return
	}
	if !h.Store.BucketExists(c.bucket) {
		c.fail(errNoSuchBucket(c.bucket))
		return
	}
	lc := h.Store.Region
	if lc == "us-east-1" {
		lc = "" // as S3 answers for us-east-1
	}
	c.reply(http.StatusOK, locationConstraint{Value: lc})
}

func (h *Handler) createBucket(c *call) {
	if e := c.authorize("s3:CreateBucket", BucketARN(c.bucket), nil); e != nil {
		c.fail(e)
		return
	}
	if len(strings.TrimSpace(string(c.body))) > 0 {
		var conf struct {
			LocationConstraint string `xml:"LocationConstraint"`
		}
		if err := xml.Unmarshal(c.body, &conf); err != nil {
			c.fail(awsproto.Errorf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema"))
			return
		}
		switch lc := conf.LocationConstraint; {
		case lc == "us-east-1":
			c.fail(awsproto.Errorf(http.StatusBadRequest, "InvalidLocationConstraint", "The specified location-constraint is not valid"))
			return
		case lc != "" && lc != h.Store.Region:
			c.fail(awsproto.Errorf(http.StatusBadRequest, "IllegalLocationConstraintException",
				"The %s location constraint is incompatible for the region specific endpoint this request was sent to.", awsproto.Truncate(lc, 40)))
			return
		case lc == "" && h.Store.Region != "us-east-1":
			c.fail(illegalUnspecified())
			return
		}
	} else if h.Store.Region != "us-east-1" {
		c.fail(illegalUnspecified())
		return
	}
	if e := h.Store.CreateBucket(c.bucket); e != nil {
		c.fail(e)
		return
	}
	c.w.Header().Set("Location", "/"+c.bucket)
	c.empty(http.StatusOK)
}

func (h *Handler) deleteBucket(c *call) {
	if e := c.authorize("s3:DeleteBucket", BucketARN(c.bucket), nil); e != nil {
		c.fail(e)
		return
	}
	if e := h.Store.DeleteBucket(c.bucket); e != nil {
		c.fail(e)
		return
	}
	c.empty(http.StatusNoContent)
}

// Continuation tokens are opaque to clients: the key to start after.
func encodeToken(after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("1/" + after))
}

func decodeToken(tok string) (string, *awsproto.Error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	after, ok := strings.CutPrefix(string(b), "1/")
	if err != nil || !ok {
		return "", awsproto.Errorf(http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect")
	}
	return after, nil
}

// urlEncode is encoding-type=url: keys escaped as in a query string ("/" kept).
func urlEncode(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/") }

type content struct {
	Key               string `xml:"Key"`
	LastModified      string `xml:"LastModified"`
	ETag              string `xml:"ETag"`
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
	Size              int64  `xml:"Size"`
	Owner             *owner `xml:"Owner,omitempty"`
	StorageClass      string `xml:"StorageClass"`
}

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

type listBucketResult struct {
	XMLName               xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	Marker                *string        `xml:"Marker"`
	NextMarker            string         `xml:"NextMarker,omitempty"`
	Delimiter             string         `xml:"Delimiter,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	KeyCount              *int           `xml:"KeyCount"`
	IsTruncated           bool           `xml:"IsTruncated"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	Contents              []content      `xml:"Contents"`
	CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
}

// listObjects serves ListObjectsV2 (v2) and ListObjects (v1).
func (h *Handler) listObjects(c *call, v2 bool) {
	q := c.r.URL.Query()
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	maxKeys := 1000
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			c.fail(awsproto.Errorf(http.StatusBadRequest, "InvalidArgument", "Provided max-keys not an integer or within integer range"))
			return
		}
		maxKeys = min(n, 1000)
	}
	enc := q.Get("encoding-type")
	if enc != "" && enc != "url" {
		c.fail(awsproto.Errorf(http.StatusBadRequest, "InvalidArgument", "Invalid Encoding Method specified in Request"))
		return
	}
	ctx := map[string][]string{"s3:prefix": {prefix}, "s3:max-keys": {strconv.Itoa(maxKeys)}}
	if delim != "" {
		ctx["s3:delimiter"] = []string{delim}
	}
	if e := c.authorize("s3:ListBucket", BucketARN(c.bucket), ctx); e != nil {
		c.fail(e)
		return
	}
	in := ListInput{Prefix: prefix, Delimiter: delim, MaxKeys: maxKeys}
	res := listBucketResult{Name: c.bucket, MaxKeys: maxKeys}
	esc := func(s string) string { return s }
	if enc == "url" {
		esc = urlEncode
		res.EncodingType = "url"
	}
	if v2 {
		token := q.Get("continuation-token")
		after, e := decodeToken(token)
		if e != nil {
			c.fail(e)
			return
		}
		if q.Has("continuation-token") && token == "" {
			c.fail(awsproto.Errorf(http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect"))
			return
		}
		in.After = max(after, q.Get("start-after"))
		res.ContinuationToken, res.StartAfter = token, esc(q.Get("start-after"))
	} else {
		in.After = q.Get("marker")
		m := esc(in.After)
		res.Marker = &m
	}
	page, e := h.Store.List(c.bucket, in)
	if e != nil {
		c.fail(e)
		return
	}
	res.Prefix, res.Delimiter, res.IsTruncated = esc(prefix), esc(delim), page.Truncated
	withOwner := !v2 || q.Get("fetch-owner") == "true"
	for _, o := range page.Objects {
		ct := content{Key: esc(o.Key), LastModified: o.LastModified.UTC().Format(listTime), ETag: o.ETag, Size: o.Size(), StorageClass: "STANDARD"}
		if o.ChecksumAlgorithm != "" {
			ct.ChecksumAlgorithm, ct.ChecksumType = o.ChecksumAlgorithm, "FULL_OBJECT"
		}
		if withOwner {
			ow := h.owner()
			ct.Owner = &ow
		}
		res.Contents = append(res.Contents, ct)
	}
	for _, cp := range page.CommonPrefixes {
		res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: esc(cp)})
	}
	if v2 {
		n := len(res.Contents) + len(res.CommonPrefixes)
		res.KeyCount = &n
		if page.Truncated {
			res.NextContinuationToken = encodeToken(page.Last)
		}
	} else if page.Truncated && delim != "" {
		res.NextMarker = esc(page.Last)
	}
	c.reply(http.StatusOK, res)
}

// illegalUnspecified is S3's answer to a CreateBucket without a location
// constraint sent to a region other than us-east-1.
func illegalUnspecified() *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "IllegalLocationConstraintException",
		"The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.")
}
