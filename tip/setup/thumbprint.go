package setup

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ThumbprintOptions configure Thumbprint.
type ThumbprintOptions struct {
	// HTTPClient fetches the discovery document (http.DefaultClient when nil).
	HTTPClient *http.Client
	// RootCAs verify the TLS chain; nil uses the system roots.
	RootCAs *x509.CertPool
	// Timeout bounds the whole operation (default 15 s).
	Timeout time.Duration
}

// ThumbprintResult is a computed thumbprint and where it came from.
type ThumbprintResult struct {
	Thumbprint string `json:"thumbprint"`
	// Host is the host:port whose chain was read (the jwks_uri host).
	Host string `json:"host"`
	// Subject is the subject of the certificate the thumbprint is of.
	Subject string `json:"subject"`
	// ChainLength is how many certificates the server sent.
	ChainLength int `json:"chain_length"`
}

// ThumbprintOf is the IAM thumbprint of a certificate chain as a server
// sends it (leaf first): the lowercase hex SHA-1 of the last certificate,
// the top intermediate CA (or the root when the server sends it).
func ThumbprintOf(chain []*x509.Certificate) string {
	if len(chain) == 0 {
		return ""
	}
	sum := sha1.Sum(chain[len(chain)-1].Raw)
	return hex.EncodeToString(sum[:])
}

// Thumbprint computes the OIDC provider thumbprint of issuer as AWS
// documents it: read the issuer's discovery document, take the host of
// its jwks_uri, open a TLS connection to it, and hash the last certificate
// of the chain the server presents.
func Thumbprint(ctx context.Context, issuer string, o ThumbprintOptions) (*ThumbprintResult, error) {
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	iu, err := url.Parse(issuer)
	if err != nil || iu.Host == "" {
		return nil, fmt.Errorf("%q is not an issuer URL", issuer)
	}
	if iu.Scheme != "https" {
		return nil, fmt.Errorf("the issuer %s is not served over https; IAM needs an https issuer", issuer)
	}
	client := o.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	disc := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, disc, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot fetch the discovery document %s: %w", disc, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the discovery document %s answered HTTP %d", disc, resp.StatusCode)
	}
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("the discovery document %s is not JSON: %v", disc, err)
	}
	ju, err := url.Parse(doc.JWKSURI)
	if err != nil || ju.Host == "" || ju.Scheme != "https" {
		return nil, fmt.Errorf("the discovery document %s has no https jwks_uri (%q)", disc, doc.JWKSURI)
	}
	host := ju.Hostname()
	port := ju.Port()
	if port == "" {
		port = "443"
	}
	addr := net.JoinHostPort(host, port)
	d := tls.Dialer{Config: &tls.Config{ServerName: host, RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12}}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		var ve *tls.CertificateVerificationError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("the TLS certificate of %s does not verify: %v", addr, ve.Err)
		}
		return nil, fmt.Errorf("cannot open a TLS connection to %s: %w", addr, err)
	}
	defer conn.Close()
	chain := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(chain) == 0 {
		return nil, fmt.Errorf("%s presented no certificate", addr)
	}
	return &ThumbprintResult{Thumbprint: ThumbprintOf(chain), Host: addr,
		Subject: chain[len(chain)-1].Subject.String(), ChainLength: len(chain)}, nil
}
