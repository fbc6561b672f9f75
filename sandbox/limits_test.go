package sandbox_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// generator yields n bytes without holding them.
type generator struct{ n int64 }

func (g *generator) Read(p []byte) (int, error) {
	if g.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.n {
		p = p[:g.n]
	}
	for i := range p {
		p[i] = 'a'
	}
	g.n -= int64(len(p))
	return len(p), nil
}

// procStatusKB reads a "Vm…" line of /proc/self/status, in KiB.
func procStatusKB(field string) (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", field)
}

// peakRSS watches this process's resident set while f runs and returns
// its peak increase in bytes: the kernel's high-water mark (VmHWM, reset
// through /proc/self/clear_refs) where it can be reset, and a sampling of
// VmRSS every millisecond in any case.
func peakRSS(t *testing.T, f func()) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	base, err := procStatusKB("VmRSS")
	if err != nil {
		t.Skipf("cannot read the resident set size: %v", err)
	}
	hwmReset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	var sampled atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if kb, err := procStatusKB("VmRSS"); err == nil && kb > sampled.Load() {
				sampled.Store(kb)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(stop)
	<-done
	peak := sampled.Load()
	if hwmReset {
		if hwm, err := procStatusKB("VmHWM"); err == nil && hwm > peak {
			peak = hwm
		}
	}
	return (peak - base) << 10
}

// TestUnauthenticatedGigabyteKeepsMemoryFlat: a 1 GiB body from a caller
// who cannot sign was read whole before its signature was checked (the
// sandbox went from 28 MB to 2.1 GB). Every way of sending it, to S3 and
// to the API services, now raises the resident set by at most 64 MiB.
func TestUnauthenticatedGigabyteKeepsMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 1 GiB per case")
	}
	sb := ststest.Sandbox(t, nil)
	now := sb.Env.Now()
	date, day := now.Format("20060102T150405Z"), now.Format("20060102")
	region := sb.Env.World.Region
	bogus := func(service string) string {
		return "AWS4-HMAC-SHA256 Credential=AKIAUNKNOWNKEY000000/" + day + "/" + region + "/" + service +
			"/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("0", 64)
	}
	const size = 1 << 30
	cases := []struct {
		name, method, path string
		header             map[string]string
	}{
		{"S3 PUT signed by an unknown key, hash not declared", "PUT", "/quicksight-snapshots/big.bin",
			map[string]string{"Authorization": bogus("s3"), "X-Amz-Date": date}},
		{"S3 PUT signed by the admin key with a wrong signature", "PUT", "/quicksight-snapshots/big.bin",
			map[string]string{"Authorization": strings.Replace(bogus("s3"), "AKIAUNKNOWNKEY000000", "test", 1), "X-Amz-Date": date,
				"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"}},
		{"S3 PUT presigned by an unknown key", "PUT", "/quicksight-snapshots/big.bin?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAUNKNOWNKEY000000%2F" +
			day + "%2F" + region + "%2Fs3%2Faws4_request&X-Amz-Date=" + date + "&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature=" + strings.Repeat("0", 64), nil},
		{"S3 PUT unsigned", "PUT", "/quicksight-snapshots/big.bin", nil},
		{"STS form POST signed by an unknown key", "POST", "/",
			map[string]string{"Authorization": bogus("sts"), "X-Amz-Date": date, "Content-Type": "application/x-www-form-urlencoded"}},
		{"QuickSight JSON POST unsigned", "POST", "/accounts/123456789012/identity-context", map[string]string{"Content-Type": "application/json"}},
		{"SSO OIDC JSON POST unsigned", "POST", "/token", map[string]string{"Content-Type": "application/json"}},
	}
	client := &http.Client{Timeout: 5 * time.Minute}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status := 0
			grew := peakRSS(t, func() {
				req, err := http.NewRequest(c.method, sb.URL()+c.path, &generator{n: size})
				if err != nil {
					t.Fatal(err)
				}
				req.ContentLength = size
				for k, v := range c.header {
					req.Header.Set(k, v)
				}
				resp, err := client.Do(req)
				if err != nil {
					return // the sandbox closed the connection on the unread body
				}
				status = resp.StatusCode
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
			t.Logf("status %d, resident set grew by %d MiB", status, grew>>20)
			if status != 0 && status < 400 {
				t.Errorf("status %d, want a refusal", status)
			}
			if grew > 64<<20 {
				t.Errorf("the resident set grew by %d MiB, want at most 64", grew>>20)
			}
		})
	}
}

// TestSlowClientsAreCut: connections that send their body (or headers) a
// byte at a time were kept open (300 of them still after 45 s). With a
// short body and header timeout, each slow connection is closed by the
// sandbox while its client is still trickling.
func TestSlowClientsAreCut(t *testing.T) {
	sb, err := sandbox.Start(sandbox.Options{HeaderTimeout: 300 * time.Millisecond, BodyTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	host := strings.TrimPrefix(sb.URL(), "http://")
	heads := map[string]string{
		"STS form body":      "POST / HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nAction=",
		"SSO OIDC JSON body": "POST /token HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{",
		"chunked body":       "POST / HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\nA",
		"headers":            "GET /_sandbox/health HTTP/1.1\r\nHost: " + host + "\r\nX-Slow: ",
	}
	type conn struct {
		name string
		c    net.Conn
	}
	var conns []conn
	stop := make(chan struct{})
	defer close(stop)
	for name, head := range heads {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		go func() { // one byte every 50 ms, until the sandbox hangs up
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := c.Write([]byte("a")); err != nil {
						return
					}
				}
			}
		}()
		conns = append(conns, conn{name, c})
	}
	// Each connection must be closed by the sandbox (EOF or reset) well
	// before its client would have finished.
	deadline := time.Now().Add(20 * time.Second)
	for _, c := range conns {
		_ = c.c.SetReadDeadline(deadline)
		_, err := io.Copy(io.Discard, bufio.NewReader(c.c))
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("%s: the connection was still open after 20 s", c.name)
		}
	}
}

// TestMaxObjectSizeIsConfigurable: Options.MaxObjectSize (tipctl sandbox
// --max-object-size) bounds an upload, refused from its Content-Length
// before its body is read.
func TestMaxObjectSizeIsConfigurable(t *testing.T) {
	sb, err := sandbox.Start(sandbox.Options{MaxObjectSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	ctx := context.Background()
	c := s3Client(sb, sb.Env.World.Region)
	put := func(n int) error {
		_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("sized.bin"),
			Body: bytes.NewReader(bytes.Repeat([]byte("x"), n))})
		return err
	}
	if err := put(1024); err != nil {
		t.Fatalf("1024 bytes: %v", err)
	}
	msg := ststest.WantAPIError(t, put(1025), "EntityTooLarge", 400)
	if !strings.Contains(msg, "1024") {
		t.Errorf("message %q does not give the limit", msg)
	}
}
