package s3

import (
	"encoding/xml"
	"net/http"
	"strconv"

	"github.com/tipctl/tipctl/sandbox/awsproto"
)

type initiateResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ InitiateMultipartUploadResult"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

func (h *Handler) createMultipartUpload(c *call) {
	if e := c.authorize("s3:PutObject", ObjectARN(c.bucket, c.key), nil); e != nil {
		c.fail(e)
		return
	}
	u, e := h.Store.CreateUpload(c.bucket, objectFromRequest(c.r, c.key))
	if e != nil {
		c.fail(e)
		return
	}
	c.reply(http.StatusOK, initiateResult{Bucket: c.bucket, Key: c.key, UploadID: u.ID})
}

func partNumber(c *call) (int, *awsproto.Error) {
	n, err := strconv.Atoi(c.r.URL.Query().Get("partNumber"))
	if err != nil || n < 1 || n > MaxPartNumber {
		return 0, awsproto.Errorf(http.StatusBadRequest, "InvalidArgument", "Part number must be an integer between 1 and %d, inclusive", MaxPartNumber)
	}
	return n, nil
}

func (h *Handler) uploadPart(c *call) {
	if e := c.authorize("s3:PutObject", ObjectARN(c.bucket, c.key), nil); e != nil {
		c.fail(e)
		return
	}
	n, e := partNumber(c)
	if e != nil {
		c.fail(e)
		return
	}
	p, e := h.Store.UploadPart(c.bucket, c.key, c.r.URL.Query().Get("uploadId"), n, c.body)
	if e != nil {
		c.fail(e)
		return
	}
	c.w.Header().Set("ETag", p.ETag)
	for alg, v := range c.checksums {
		c.w.Header().Set(ChecksumHeader(alg), v)
	}
	c.empty(http.StatusOK)
}

func (h *Handler) uploadPartCopy(c *call) {
	if e := c.authorize("s3:PutObject", ObjectARN(c.bucket, c.key), nil); e != nil {
		c.fail(e)
		return
	}
	n, e := partNumber(c)
	if e != nil {
		c.fail(e)
		return
	}
	src, e := h.source(c)
	if e != nil {
		c.fail(e)
		return
	}
	body := src.Body
	if rg := c.r.Header.Get("X-Amz-Copy-Source-Range"); rg != "" {
		start, end, ok, e := byteRange(rg, src.Size())
		if e != nil || !ok || end >= src.Size() {
			c.fail(awsproto.Errorf(http.StatusBadRequest, "InvalidArgument", "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"))
			return
		}
		body = src.Body[start : end+1]
	}
	p, e := h.Store.UploadPart(c.bucket, c.key, c.r.URL.Query().Get("uploadId"), n, body)
	if e != nil {
		c.fail(e)
		return
	}
	c.reply(http.StatusOK, copyResult{XMLName: xml.Name{Space: Namespace, Local: "CopyPartResult"},
		ETag: p.ETag, LastModified: p.LastModified.UTC().Format(listTime)})
}

type completeRequest struct {
	Parts []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

type completeResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CompleteMultipartUploadResult"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

func (h *Handler) completeMultipartUpload(c *call) {
	if e := c.authorize("s3:PutObject", ObjectARN(c.bucket, c.key), nil); e != nil {
		c.fail(e)
		return
	}
	var req completeRequest
	if err := xml.Unmarshal(c.body, &req); err != nil {
		c.fail(awsproto.Errorf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema"))
		return
	}
	refs := make([]PartRef, len(req.Parts))
	for i, p := range req.Parts {
		refs[i] = PartRef{Number: p.PartNumber, ETag: p.ETag}
	}
	o, e := h.Store.CompleteUpload(c.bucket, c.key, c.r.URL.Query().Get("uploadId"), refs)
	if e != nil {
		c.fail(e)
		return
	}
	c.reply(http.StatusOK, completeResult{Location: h.Env.World.Endpoint + "/" + c.bucket + "/" + c.key, Bucket: c.bucket, Key: c.key, ETag: o.ETag})
}

func (h *Handler) abortMultipartUpload(c *call) {
	if e := c.authorize("s3:AbortMultipartUpload", ObjectARN(c.bucket, c.key), nil); e != nil {
		c.fail(e)
		return
	}
	if e := h.Store.AbortUpload(c.bucket, c.key, c.r.URL.Query().Get("uploadId")); e != nil {
		c.fail(e)
		return
	}
	c.empty(http.StatusNoContent)
}

type partEntry struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int    `xml:"Size"`
}

type listPartsResult struct {
	XMLName              xml.Name    `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListPartsResult"`
	Bucket               string      `xml:"Bucket"`
	Key                  string      `xml:"Key"`
	UploadID             string      `xml:"UploadId"`
	PartNumberMarker     int         `xml:"PartNumberMarker"`
	NextPartNumberMarker int         `xml:"NextPartNumberMarker"`
	MaxParts             int         `xml:"MaxParts"`
	IsTruncated          bool        `xml:"IsTruncated"`
	Parts                []partEntry `xml:"Part"`
	Initiator            owner       `xml:"Initiator"`
	Owner                owner       `xml:"Owner"`
	StorageClass         string      `xml:"StorageClass"`
}

func (h *Handler) listParts(c *call) {
	if e := c.authorize("s3:ListMultipartUploadParts", ObjectARN(c.bucket, c.key), nil); e != nil {
		c.fail(e)
		return
	}
	q := c.r.URL.Query()
	maxParts, marker := 1000, 0
	var err error
	if v := q.Get("max-parts"); v != "" {
		if maxParts, err = strconv.Atoi(v); err != nil || maxParts < 0 {
			c.fail(awsproto.Errorf(http.StatusBadRequest, "InvalidArgument", "max-parts must be a non-negative integer"))
			return
		}
		maxParts = min(maxParts, 1000)
	}
	if v := q.Get("part-number-marker"); v != "" {
		if marker, err = strconv.Atoi(v); err != nil || marker < 0 {
			c.fail(awsproto.Errorf(http.StatusBadRequest, "InvalidArgument", "part-number-marker must be a non-negative integer"))
			return
		}
	}
	_, parts, e := h.Store.Parts(c.bucket, c.key, q.Get("uploadId"))
	if e != nil {
		c.fail(e)
		return
	}
	res := listPartsResult{Bucket: c.bucket, Key: c.key, UploadID: q.Get("uploadId"), PartNumberMarker: marker, MaxParts: maxParts,
		Initiator: owner{ID: c.p.Arn}, Owner: h.owner(), StorageClass: "STANDARD"}
	for _, p := range parts {
		if p.Number <= marker {
			continue
		}
		if len(res.Parts) == maxParts {
			res.IsTruncated = true
			break
		}
		res.Parts = append(res.Parts, partEntry{PartNumber: p.Number, LastModified: p.LastModified.UTC().Format(listTime), ETag: p.ETag, Size: len(p.Body)})
		res.NextPartNumberMarker = p.Number
	}
	c.reply(http.StatusOK, res)
}

type uploadEntry struct {
	Key          string `xml:"Key"`
	UploadID     string `xml:"UploadId"`
	Initiated    string `xml:"Initiated"`
	StorageClass string `xml:"StorageClass"`
}

type listUploadsResult struct {
	XMLName            xml.Name      `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListMultipartUploadsResult"`
	Bucket             string        `xml:"Bucket"`
	KeyMarker          string        `xml:"KeyMarker"`
	UploadIDMarker     string        `xml:"UploadIdMarker"`
	NextKeyMarker      string        `xml:"NextKeyMarker,omitempty"`
	NextUploadIDMarker string        `xml:"NextUploadIdMarker,omitempty"`
	Prefix             string        `xml:"Prefix"`
	MaxUploads         int           `xml:"MaxUploads"`
	IsTruncated        bool          `xml:"IsTruncated"`
	Uploads            []uploadEntry `xml:"Upload"`
}

// listMultipartUploads lists a bucket's uploads in key order (then
// initiation), a page of at most max-uploads (1000) after key-marker and,
// within that key, after upload-id-marker.
func (h *Handler) listMultipartUploads(c *call) {
	if e := c.authorize("s3:ListBucketMultipartUploads", BucketARN(c.bucket), nil); e != nil {
		c.fail(e)
		return
	}
	q := c.r.URL.Query()
	prefix, keyMarker, idMarker := q.Get("prefix"), q.Get("key-marker"), q.Get("upload-id-marker")
	max := 1000
	if v := q.Get("max-uploads"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			c.fail(awsproto.Errorf(http.StatusBadRequest, "InvalidArgument", "max-uploads must be a non-negative integer, not %q", awsproto.Truncate(v, 20)))
			return
		}
		max = min(n, 1000)
	}
	ups, e := h.Store.Uploads(c.bucket, prefix)
	if e != nil {
		c.fail(e)
		return
	}
	res := listUploadsResult{Bucket: c.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIDMarker: idMarker, MaxUploads: max, Uploads: []uploadEntry{}}
	start := 0
	if keyMarker != "" {
		start = len(ups)
		for i, u := range ups {
			if u.Key > keyMarker {
				start = i
				break
			}
		}
		if idMarker != "" {
			for i, u := range ups {
				if u.Key == keyMarker && u.ID == idMarker {
					start = i + 1
					break
				}
			}
		}
	}
	for _, u := range ups[start:] {
		if len(res.Uploads) == max {
			res.IsTruncated = true
			break
		}
		res.Uploads = append(res.Uploads, uploadEntry{Key: u.Key, UploadID: u.ID, Initiated: u.Initiated.UTC().Format(listTime), StorageClass: "STANDARD"})
	}
	if res.IsTruncated && len(res.Uploads) > 0 {
		last := res.Uploads[len(res.Uploads)-1]
		res.NextKeyMarker, res.NextUploadIDMarker = last.Key, last.UploadID
	}
	c.reply(http.StatusOK, res)
}
