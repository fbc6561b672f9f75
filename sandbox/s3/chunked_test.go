package s3_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// recorder is a TLS front for the sandbox that remembers how each PUT body
// was encoded: the SDKs only send aws-chunked bodies with trailing checksums
// over HTTPS.
type recorder struct {
	mu   sync.Mutex
	puts []string
}

func (rc *recorder) wrap(sb *sandbox.Sandbox) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			rc.mu.Lock()
			rc.puts = append(rc.puts, r.Header.Get("X-Amz-Content-Sha256")+"|"+r.Header.Get("Content-Encoding")+"|"+r.Header.Get("X-Amz-Trailer"))
			rc.mu.Unlock()
		}
		sb.ServeHTTP(w, r)
	})
}

func tlsFront(t testing.TB, sb *sandbox.Sandbox) (*httptest.Server, *recorder) {
	rc := &recorder{}
	ts := httptest.NewUnstartedServer(rc.wrap(sb))
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts, rc
}

func TestSDKAWSChunkedTrailerOverTLS(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	ts, rc := tlsFront(t, sb)
	c := client(ts.URL, admin, func(o *awss3.Options) { o.HTTPClient = ts.Client() })
	data := make([]byte, 300<<10)
	_, _ = rand.Read(data)
	if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("chunked.bin"), Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	if len(rc.puts) != 1 || rc.puts[0] != "STREAMING-UNSIGNED-PAYLOAD-TRAILER|aws-chunked|x-amz-checksum-crc32" {
		t.Fatalf("the SDK did not send an aws-chunked body with a trailer: %v", rc.puts)
	}
	out, got, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("chunked.bin"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 4)
	binary.BigEndian.PutUint32(want, crc32.ChecksumIEEE(data))
	if got != string(data) || aws.ToString(out.ChecksumCRC32) != base64.StdEncoding.EncodeToString(want) {
		t.Errorf("round trip: %d bytes, CRC32 %s", len(got), aws.ToString(out.ChecksumCRC32))
	}

	// Multipart parts come the same way.
	cr, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("mp.bin")})
	if err != nil {
		t.Fatal(err)
	}
	up, err := c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("mp.bin"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("mp.bin"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: up.ETag, ChecksumCRC32: up.ChecksumCRC32}}}}); err != nil {
		t.Fatal(err)
	}
	if _, got, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("mp.bin")}); err != nil || got != string(data) {
		t.Fatalf("multipart over aws-chunked: %d bytes %v", len(got), err)
	}
	if !strings.HasPrefix(rc.puts[len(rc.puts)-1], "STREAMING-UNSIGNED-PAYLOAD-TRAILER|aws-chunked") {
		t.Errorf("UploadPart encoding: %v", rc.puts)
	}
}

// chunkedRequest builds a SigV4 streaming upload by the documented format,
// signing chunks with aws-sdk-go-v2's StreamSigner.
type chunkedRequest struct {
	url       string
	data      []byte
	chunkSize int
	signed    bool
	trailer   string // checksum trailer value (x-amz-checksum-crc32), "" for none
	mutate    func(body []byte) []byte
	truncate  int // send only this many bytes (signed as the Content-Length)
	header    map[string]string
}

func hmacHex(key []byte, s string) ([]byte, string) {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	sum := m.Sum(nil)
	return sum, hex.EncodeToString(sum)
}

func (cr chunkedRequest) do(t *testing.T, now time.Time) (*http.Response, string) {
	t.Helper()
	mode := "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	if cr.signed {
		mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
		if cr.trailer != "" {
			mode += "-TRAILER"
		}
	}
	var chunks [][]byte
	for off := 0; off < len(cr.data); off += cr.chunkSize {
		chunks = append(chunks, cr.data[off:min(off+cr.chunkSize, len(cr.data))])
	}
	chunks = append(chunks, nil)
	sigExt := 0
	if cr.signed {
		sigExt = len(";chunk-signature=") + 64
	}
	length := 0
	for _, c := range chunks {
		length += len(strconv.FormatInt(int64(len(c)), 16)) + sigExt + 2 + len(c)
		if len(c) > 0 {
			length += 2
		}
	}
	trailerLine := ""
	if cr.trailer != "" {
		trailerLine = "x-amz-checksum-crc32:" + cr.trailer
		length += len(trailerLine) + 2
		if cr.signed {
			length += len("x-amz-trailer-signature:") + 64 + 2
		}
	}
	length += 2
	req, _ := http.NewRequest(http.MethodPut, cr.url, nil)
	req.ContentLength = int64(length)
	if cr.truncate > 0 {
		req.ContentLength = int64(cr.truncate)
	}
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Content-Sha256", mode)
	req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(cr.data)))
	if cr.trailer != "" {
		req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
	}
	for k, v := range cr.header {
		req.Header.Set(k, v)
	}
	creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, mode, "s3", "us-east-1", now, func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
		t.Fatal(err)
	}
	_, seedHex, _ := strings.Cut(req.Header.Get("Authorization"), "Signature=")
	seed, _ := hex.DecodeString(seedHex)
	ss := v4.NewStreamSigner(creds, "s3", "us-east-1", seed)
	var body bytes.Buffer
	prev := ""
	for _, c := range chunks {
		body.WriteString(strconv.FormatInt(int64(len(c)), 16))
		if cr.signed {
			sig, err := ss.GetSignature(ctx, nil, c, now)
			if err != nil {
				t.Fatal(err)
			}
			prev = hex.EncodeToString(sig)
			body.WriteString(";chunk-signature=" + prev)
		}
		body.WriteString("\r\n")
		body.Write(c)
		if len(c) > 0 {
			body.WriteString("\r\n")
		}
	}
	if trailerLine != "" {
		body.WriteString(trailerLine + "\r\n")
		if cr.signed {
			date := now.Format("20060102")
			k, _ := hmacHex([]byte("AWS4test"), date)
			k, _ = hmacHex(k, "us-east-1")
			k, _ = hmacHex(k, "s3")
			k, _ = hmacHex(k, "aws4_request")
			h := sha256.Sum256([]byte(trailerLine + "\n"))
			_, sig := hmacHex(k, "AWS4-HMAC-SHA256-TRAILER\n"+now.Format("20060102T150405Z")+"\n"+date+"/us-east-1/s3/aws4_request\n"+prev+"\n"+hex.EncodeToString(h[:]))
			body.WriteString("x-amz-trailer-signature:" + sig + "\r\n")
		}
	}
	body.WriteString("\r\n")
	if body.Len() != length {
		t.Fatalf("encoded %d bytes, announced %d", body.Len(), length)
	}
	b := body.Bytes()
	if cr.truncate > 0 {
		b = b[:cr.truncate]
	}
	if cr.mutate != nil {
		b = cr.mutate(b)
		req.ContentLength = int64(len(b))
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return resp, string(rb)
}

func crc32b64(b []byte) string {
	s := make([]byte, 4)
	binary.BigEndian.PutUint32(s, crc32.ChecksumIEEE(b))
	return base64.StdEncoding.EncodeToString(s)
}

func TestSignedAWSChunkedUploads(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	c := client(sb.URL(), admin)
	data := make([]byte, 200000)
	_, _ = rand.Read(data)
	for i, tc := range []chunkedRequest{
		{signed: true},
		{signed: true, trailer: crc32b64(data)},
		{signed: false, trailer: crc32b64(data)},
	} {
		key := fmt.Sprintf("stream/%d.bin", i)
		tc.url, tc.data, tc.chunkSize = sb.URL()+"/quicksight-snapshots/"+key, data, 64<<10
		resp, body := tc.do(t, sb.Env.Now())
		if resp.StatusCode != 200 {
			t.Fatalf("case %d: %d %s", i, resp.StatusCode, body)
		}
		if _, got, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String(key)}); err != nil || got != string(data) {
			t.Fatalf("case %d: read back %d bytes, %v", i, len(got), err)
		}
	}

	flip := func(at int) func([]byte) []byte {
		return func(b []byte) []byte { b = bytes.Clone(b); b[at] ^= 1; return b }
	}
	for _, tc := range []struct {
		name   string
		req    chunkedRequest
		code   string
		status int
	}{
		{"tampered chunk", chunkedRequest{signed: true, mutate: flip(200)}, "SignatureDoesNotMatch", 403},
		{"tampered trailer signature", chunkedRequest{signed: true, trailer: crc32b64(data), mutate: func(b []byte) []byte {
			return flip(bytes.Index(b, []byte("x-amz-trailer-signature:")) + len("x-amz-trailer-signature:"))(b)
		}}, "SignatureDoesNotMatch", 403},
		{"wrong trailing checksum", chunkedRequest{trailer: "AAAAAA=="}, "BadDigest", 400},
		{"missing announced trailer", chunkedRequest{header: map[string]string{"X-Amz-Trailer": "x-amz-checksum-sha256"}, trailer: crc32b64(data)}, "MalformedTrailerError", 400},
		{"truncated", chunkedRequest{signed: true, truncate: 70000}, "IncompleteBody", 400},
		{"decoded length mismatch", chunkedRequest{header: map[string]string{"X-Amz-Decoded-Content-Length": "5"}, trailer: crc32b64(data)}, "IncompleteBody", 400},
	} {
		tc.req.url, tc.req.data, tc.req.chunkSize = sb.URL()+"/quicksight-snapshots/bad.bin", data, 64<<10
		resp, body := tc.req.do(t, sb.Env.Now())
		if resp.StatusCode != tc.status || !strings.Contains(body, "<Code>"+tc.code+"</Code>") {
			t.Errorf("%s: %d %s, want %s %d", tc.name, resp.StatusCode, body, tc.code, tc.status)
		}
	}
	if _, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("bad.bin")}); err == nil {
		t.Error("a rejected upload was stored")
	}
}

func TestPayloadHashMismatch(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	req, _ := http.NewRequest(http.MethodPut, sb.URL()+"/quicksight-snapshots/x.txt", strings.NewReader("the real body"))
	sum := sha256.Sum256([]byte("another body"))
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, req, hex.EncodeToString(sum[:]), "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "XAmzContentSHA256Mismatch") {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
}
