package s3

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/awsproto"
)

// S3 still accepts the legacy signature version 2, and botocore's
// generate_presigned_url produces it by default (AWSAccessKeyId, Signature,
// Expires). The sandbox verifies both its query and header forms.

// v2Subresources are the query parameters that are part of the signed resource.
var v2Subresources = map[string]bool{"accelerate": true, "acl": true, "cors": true, "defaultObjectAcl": true, "location": true,
	"logging": true, "partNumber": true, "policy": true, "requestPayment": true, "torrent": true, "versioning": true,
	"versionId": true, "versions": true, "website": true, "uploads": true, "uploadId": true, "response-content-type": true,
	"response-content-language": true, "response-expires": true, "response-cache-control": true,
	"response-content-disposition": true, "response-content-encoding": true, "delete": true, "lifecycle": true,
	"tagging": true, "restore": true, "storageClass": true, "notification": true, "replication": true, "analytics": true,
	"metrics": true, "inventory": true, "select": true, "select-type": true, "object-lock": true}

// isSigV2 reports whether r carries a signature version 2.
func isSigV2(r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get("Authorization"), "AWS ") {
		return true
	}
	q := r.URL.Query()
	return q.Get("AWSAccessKeyId") != "" && q.Get("Signature") != ""
}

// stringToSignV2 is METHOD, Content-MD5, Content-Type, date (Expires for
// query auth), the x-amz-* headers and the resource, one per line.
func stringToSignV2(r *http.Request, date string) string {
	q := r.URL.Query()
	pick := func(h string) string {
		if v := r.Header.Get(h); v != "" {
			return strings.TrimSpace(v)
		}
		return strings.TrimSpace(q.Get(strings.ToLower(h)))
	}
	amz := map[string]string{}
	for k, vs := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
			trimmed := make([]string, len(vs))
			for i, v := range vs {
				trimmed[i] = strings.TrimSpace(v)
			}
			amz[lk] = strings.Join(trimmed, ",")
		}
	}
	for k, vs := range q {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") && amz[lk] == "" && len(vs) > 0 {
			amz[lk] = vs[0]
		}
	}
	keys := make([]string, 0, len(amz))
	for k := range amz {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(r.Method + "\n" + pick("Content-MD5") + "\n" + pick("Content-Type") + "\n" + date + "\n")
	for _, k := range keys {
		b.WriteString(k + ":" + amz[k] + "\n")
	}
	b.WriteString(r.URL.EscapedPath())
	var sub []string
	for _, part := range strings.Split(r.URL.RawQuery, "&") {
		name, value, hasValue := strings.Cut(part, "=")
		if !v2Subresources[name] {
			continue
		}
		if hasValue {
			if v, err := url.QueryUnescape(value); err == nil {
				value = v
			}
			sub = append(sub, name+"="+value)
		} else {
			sub = append(sub, name)
		}
	}
	if len(sub) > 0 {
		sort.Strings(sub)
		b.WriteString("?" + strings.Join(sub, "&"))
	}
	return b.String()
}

// verifySigV2 checks a signature version 2 request and returns its principal.
func (h *Handler) verifySigV2(r *http.Request) (*auth.Principal, *awsproto.Error) {
	now := h.Env.Now()
	var akid, sig, date string
	if a, ok := strings.CutPrefix(r.Header.Get("Authorization"), "AWS "); ok {
		var found bool
		akid, sig, found = strings.Cut(a, ":")
		if !found {
			return nil, awsproto.Errorf(http.StatusBadRequest, "InvalidArgument", "the Authorization header must be AWS AccessKeyId:Signature")
		}
		date = r.Header.Get("X-Amz-Date")
		if date == "" {
			date = r.Header.Get("Date")
		}
		t, err := http.ParseTime(date)
		if err != nil {
			return nil, awsproto.AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
		}
		if d := now.Sub(t); d > awsproto.MaxSkew || d < -awsproto.MaxSkew {
			return nil, awsproto.Errorf(http.StatusForbidden, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
		}
		if r.Header.Get("X-Amz-Date") != "" {
			date = "" // x-amz-date is signed among the x-amz-* headers instead
		}
	} else {
		q := r.URL.Query()
		akid, sig, date = q.Get("AWSAccessKeyId"), q.Get("Signature"), q.Get("Expires")
		exp, err := strconv.ParseInt(date, 10, 64)
		if err != nil {
			return nil, awsproto.AccessDenied("Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")
		}
		if now.After(time.Unix(exp, 0)) {
			return nil, awsproto.AccessDenied("Request has expired")
		}
	}
	tok := r.Header.Get("X-Amz-Security-Token")
	if tok == "" {
		tok = r.URL.Query().Get("x-amz-security-token")
	}
	p, ok := h.Env.Registry.Resolve(akid, tok)
	if !ok {
		return nil, awsproto.Errorf(http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
	}
	if p.SessionToken != "" {
		if subtle.ConstantTimeCompare([]byte(tok), []byte(p.SessionToken)) != 1 {
			return nil, awsproto.Errorf(http.StatusBadRequest, "InvalidToken", "The provided token is malformed or otherwise invalid.")
		}
	}
	if !p.Expiration.IsZero() && now.After(p.Expiration) {
		return nil, awsproto.Errorf(http.StatusBadRequest, "ExpiredToken", "The provided token has expired.")
	}
	m := hmac.New(sha1.New, []byte(p.SecretAccessKey))
	m.Write([]byte(stringToSignV2(r, date)))
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	if subtle.ConstantTimeCompare([]byte(want), []byte(sig)) != 1 {
		return nil, awsproto.Errorf(http.StatusForbidden, "SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	}
	return p, nil
}
