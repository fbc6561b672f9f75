package awsconf_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/tipctl/tipctl/tip/awsconf"
)

// TestSafeBodiesLateWriter replays, in a fixed order, the race that lost
// CreateTokenWithIAM replies on busy machines: the goroutine writing the
// request is held after its last byte until the SDK has the response
// headers (and has closed the request body) and reads the response body
// from the connection. net/http then drains the closed body; through the
// SDK's WriteTo that drain failed with io.EOF and the connection was closed
// under the reader. Through SafeBodies the write ends cleanly and the whole
// reply arrives.
func TestSafeBodiesLateWriter(t *testing.T) {
	token := strings.Repeat("t", 256<<10) // far more than the client's read buffer
	wrote := make(chan struct{})          // closed when the client's request write has ended
	var wroteErr atomic.Pointer[error]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 512)
		for {
			if _, err := r.Body.Read(buf); err != nil {
				break
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"tokenType":"Bearer","expiresIn":3600,"accessToken":"`))
		w.(http.Flusher).Flush()
		select { // the rest only once the client's write has ended
		case <-wrote:
		case <-r.Context().Done():
			return
		case <-time.After(time.Minute):
			return
		}
		_, _ = w.Write([]byte(token + `"}`))
	}))
	defer srv.Close()

	var doReturned atomic.Bool
	release := make(chan struct{})
	var releaseOnce sync.Once
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &lateWriter{Conn: c, doReturned: &doReturned, release: release, releaseOnce: &releaseOnce}, nil
	}}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	inner := doFunc(func(r *http.Request) (*http.Response, error) {
		trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
			if wroteErr.CompareAndSwap(nil, &i.Err) {
				close(wrote)
			}
		}}
		resp, err := hc.Do(r.WithContext(httptrace.WithClientTrace(r.Context(), trace)))
		doReturned.Store(true)
		return resp, err
	})

	client := ssooidc.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		HTTPClient:   awsconf.SafeBodies(inner),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := client.CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String("arn:aws:sso::123456789012:application/ssoins-1/apl-1"), GrantType: aws.String("urn:ietf:params:oauth:grant-type:jwt-bearer"),
		Assertion: aws.String(strings.Repeat("a", 900)),
	})
	if p := wroteErr.Load(); p == nil {
		t.Error("the request write never ended")
	} else if *p != nil {
		t.Errorf("the request write failed after its last byte: %v", *p)
	}
	if err != nil {
		t.Fatalf("CreateTokenWithIAM: %v", err)
	}
	if got := aws.ToString(out.AccessToken); got != token {
		t.Fatalf("accessToken has %d bytes, want %d", len(got), len(token))
	}
}

// TestSafeBodiesKeepsRequest checks the wrapper passes the body through
// unchanged and leaves the caller's request alone.
func TestSafeBodiesKeepsRequest(t *testing.T) {
	var got string
	var caller *http.Request
	c := awsconf.SafeBodies(doFunc(func(r *http.Request) (*http.Response, error) {
		if r == caller {
			t.Error("the caller's request was passed on, not a copy")
		}
		b := new(bytes.Buffer)
		if _, ok := r.Body.(io.WriterTo); ok {
			t.Error("the body still has WriteTo")
		}
		_, _ = b.ReadFrom(r.Body)
		got = b.String()
		return &http.Response{StatusCode: 204, Body: http.NoBody}, nil
	}))
	if awsconf.SafeBodies(c) != c {
		t.Fatal("wrapping twice made a new client")
	}
	caller, _ = http.NewRequest(http.MethodPost, "http://127.0.0.1/", strings.NewReader("payload"))
	body := caller.Body
	if _, err := c.Do(caller); err != nil {
		t.Fatal(err)
	}
	if got != "payload" || caller.Body != body {
		t.Fatalf("sent %q; caller's body replaced: %v", got, caller.Body != body)
	}
}

type doFunc func(*http.Request) (*http.Response, error)

func (f doFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// lateWriter holds every write after the first (the request headers are
// flushed on their own, so the second write carries the body) until the
// client reads from the connection after Do has returned, that is, while
// the SDK reads the response body.
type lateWriter struct {
	net.Conn
	writes      atomic.Int32
	doReturned  *atomic.Bool
	release     chan struct{}
	releaseOnce *sync.Once
}

func (c *lateWriter) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if c.writes.Add(1) == 2 {
		select {
		case <-c.release:
		case <-time.After(time.Minute): // the test has failed; let it end
		}
	}
	return n, err
}

func (c *lateWriter) Read(p []byte) (int, error) {
	if c.doReturned.Load() {
		c.releaseOnce.Do(func() { close(c.release) })
	}
	return c.Conn.Read(p)
}
