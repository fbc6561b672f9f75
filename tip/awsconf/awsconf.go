// Package awsconf builds aws-sdk-go-v2 configurations for tipctl: the
// region, an optional endpoint (the sandbox, or AWS_ENDPOINT_URL[_SERVICE]),
// AWS_CA_BUNDLE, retries with backoff, and an HTTP client that can trace
// calls with every secret redacted. It does not read the shared AWS config
// files, so a credential_process invocation never loops back into itself.
package awsconf

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// Options describe one configuration.
type Options struct {
	Region string
	// Endpoint overrides every service's endpoint (the sandbox URL).
	Endpoint    string
	Credentials aws.CredentialsProvider
	// HTTPClient is used as is when set; otherwise one is built with the CA
	// bundle from AWS_CA_BUNDLE.
	HTTPClient *http.Client
	// Getenv reads the environment (os.Getenv when nil).
	Getenv func(string) string
	// MaxAttempts for retryable errors (default 4).
	MaxAttempts int
}

// New returns an aws.Config for opts.
func New(opts Options) (aws.Config, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	client := opts.HTTPClient
	if client == nil {
		c, err := NewHTTPClient(getenv("AWS_CA_BUNDLE"))
		if err != nil {
			return aws.Config{}, err
		}
		client = c
	}
	attempts := opts.MaxAttempts
	if attempts == 0 {
		attempts = 4
	}
	cfg := aws.Config{
		Region:      opts.Region,
		Credentials: opts.Credentials,
		HTTPClient:  SafeBodies(client),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.MaxBackoff = 5 * time.Second
			})
		},
	}
	if opts.Endpoint != "" {
		cfg.BaseEndpoint = aws.String(opts.Endpoint)
	} else if e := getenv("AWS_ENDPOINT_URL"); e != "" {
		cfg.BaseEndpoint = aws.String(e)
	}
	if cfg.Credentials == nil {
		cfg.Credentials = aws.AnonymousCredentials{}
	}
	return cfg, nil
}

// ServiceEndpoint returns the endpoint override for one service, following
// the SDKs' precedence: an explicit endpoint, AWS_ENDPOINT_URL_<SERVICE>,
// then AWS_ENDPOINT_URL. envName is the service's variable suffix, e.g.
// "STS", "SSO_OIDC", "S3", "S3_CONTROL", "QUICKSIGHT".
func ServiceEndpoint(explicit, envName string, getenv func(string) string) string {
	if explicit != "" {
		return explicit
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	if e := getenv("AWS_ENDPOINT_URL_" + envName); e != "" {
		return e
	}
	return getenv("AWS_ENDPOINT_URL")
}

// ForService returns a copy of cfg whose BaseEndpoint honours
// AWS_ENDPOINT_URL_<envName> unless explicit is set.
func ForService(cfg aws.Config, explicit, envName string, getenv func(string) string) aws.Config {
	if e := ServiceEndpoint(explicit, envName, getenv); e != "" {
		cfg.BaseEndpoint = aws.String(e)
	}
	return cfg
}

// NewHTTPClient returns a client with sane timeouts, trusting the PEM CA
// bundle at caBundle in addition to the system roots when given. The
// transport is built on the first request, so a command that makes none
// (the cached credential_process path) neither parses the bundle nor sets
// up HTTP/2; an unreadable bundle is still reported at once.
func NewHTTPClient(caBundle string) (*http.Client, error) {
	if caBundle != "" {
		if _, err := os.Stat(caBundle); err != nil {
			return nil, fmt.Errorf("AWS_CA_BUNDLE: %w", err)
		}
	}
	return &http.Client{Transport: &lazyTransport{caBundle: caBundle}, Timeout: 2 * time.Minute}, nil
}

// lazyTransport builds its http.Transport on first use.
type lazyTransport struct {
	caBundle string
	once     sync.Once
	tr       *http.Transport
	err      error
}

func (l *lazyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	l.once.Do(func() { l.tr, l.err = newTransport(l.caBundle) })
	if l.err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, l.err
	}
	return l.tr.RoundTrip(r)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the transport.
func (l *lazyTransport) CloseIdleConnections() {
	if l.tr != nil {
		l.tr.CloseIdleConnections()
	}
}

func newTransport(caBundle string) (*http.Transport, error) {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
	}
	if caBundle != "" {
		pem, err := os.ReadFile(caBundle)
		if err != nil {
			return nil, fmt.Errorf("AWS_CA_BUNDLE: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("AWS_CA_BUNDLE %s holds no PEM certificate", caBundle)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return tr, nil
}

// IsLoopback reports whether an endpoint URL points at this machine.
func IsLoopback(endpoint string) bool {
	h := strings.TrimPrefix(strings.TrimPrefix(endpoint, "http://"), "https://")
	if i := strings.IndexAny(h, "/"); i >= 0 {
		h = h[:i]
	}
	host, _, err := net.SplitHostPort(h)
	if err != nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
