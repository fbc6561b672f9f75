package awsconf

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// SafeBodies wraps c (the SDK's default client when nil) so that the
// request bodies it hands to net/http are plain readers, without io.WriterTo.
//
// Why: smithy-go wraps each request body in a closer that the SDK closes as
// soon as the response headers are in, and once closed that closer's
// WriteTo returns io.EOF. After sending Content-Length bytes, net/http still
// drains the body with io.Copy(io.Discard, body), which prefers WriterTo;
// it takes that io.EOF for a failed write and closes the connection while
// the caller is reading the response. When the writing goroutine is
// scheduled late (a busy machine), a 200 reply is lost mid-body ("use of
// closed network connection"). For CreateTokenWithIAM that costs a
// single-use assertion, hence a fresh sign-in. Through Read, the drain
// sees io.EOF as the end of the body, as io.Copy defines it.
//
// Wrapping twice returns the same client.
func SafeBodies(c aws.HTTPClient) aws.HTTPClient {
	if _, ok := c.(*safeBodies); ok {
		return c
	}
	if c == nil {
		c = awshttp.NewBuildableClient()
	}
	return &safeBodies{c}
}

type safeBodies struct{ next aws.HTTPClient }

func (s *safeBodies) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		if _, ok := r.Body.(io.WriterTo); ok {
			r = r.WithContext(r.Context()) // a shallow copy: the caller's request keeps its body
			r.Body = readOnlyBody{r.Body}
		}
	}
	return s.next.Do(r)
}

// readOnlyBody hides everything of a body but Read and Close.
type readOnlyBody struct{ rc io.ReadCloser }

func (b readOnlyBody) Read(p []byte) (int, error) { return b.rc.Read(p) }
func (b readOnlyBody) Close() error               { return b.rc.Close() }
