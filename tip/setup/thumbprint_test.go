package setup

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type testCert struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCert(t *testing.T, cn string, parent *testCert, ca bool) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true,
	}
	if ca {
		tmpl.IsCA = true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.DNSNames = []string{"localhost"}
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{cert: c, key: key}
}

// pki is a root CA, an intermediate CA and a leaf for 127.0.0.1.
type pki struct{ root, inter, leaf *testCert }

func newPKI(t *testing.T, name string) pki {
	root := newCert(t, name+" Root CA", nil, true)
	inter := newCert(t, name+" Intermediate CA", root, true)
	return pki{root: root, inter: inter, leaf: newCert(t, "127.0.0.1", inter, false)}
}

// serve starts a TLS server presenting chain and serving handler.
func serve(t *testing.T, leaf *testCert, chain []*x509.Certificate, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	cert := tls.Certificate{PrivateKey: leaf.key}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func sha1Hex(c *x509.Certificate) string {
	s := sha1.Sum(c.Raw)
	return hex.EncodeToString(s[:])
}

func TestThumbprintFromJWKSHost(t *testing.T) {
	// The IdP's issuer and its JWKS are on different hosts with different
	// chains: AWS documents the thumbprint of the jwks_uri host.
	idpPKI, jwksPKI := newPKI(t, "IdP"), newPKI(t, "Keys")
	jwks := serve(t, jwksPKI.leaf, []*x509.Certificate{jwksPKI.leaf.cert, jwksPKI.inter.cert},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"keys":[]}`)) }))
	var issuer string
	idp := serve(t, idpPKI.leaf, []*x509.Certificate{idpPKI.leaf.cert, idpPKI.inter.cert}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oauth2/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"issuer":"` + issuer + `","jwks_uri":"` + jwks.URL + `/keys"}`))
	}))
	issuer = idp.URL + "/oauth2"
	roots := x509.NewCertPool()
	roots.AddCert(idpPKI.root.cert)
	roots.AddCert(jwksPKI.root.cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}

	res, err := Thumbprint(context.Background(), issuer, ThumbprintOptions{HTTPClient: client, RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	if res.Thumbprint != sha1Hex(jwksPKI.inter.cert) {
		t.Fatalf("thumbprint %s, want the JWKS host's intermediate %s (IdP intermediate %s)", res.Thumbprint, sha1Hex(jwksPKI.inter.cert), sha1Hex(idpPKI.inter.cert))
	}
	if res.ChainLength != 2 || res.Subject != "CN=Keys Intermediate CA" || res.Host != strings.TrimPrefix(jwks.URL, "https://") {
		t.Fatalf("result %+v", res)
	}
	// The value is what a template accepts.
	if _, err := Template(TemplateOptions{Issuer: issuer, Audience: "a", Thumbprint: res.Thumbprint}); err != nil {
		t.Fatal(err)
	}

	// An untrusted chain is refused rather than hashed.
	_, err = Thumbprint(context.Background(), issuer, ThumbprintOptions{HTTPClient: client, RootCAs: x509.NewCertPool()})
	if err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("untrusted chain: %v", err)
	}
}

func TestThumbprintOfRootWhenSent(t *testing.T) {
	p := newPKI(t, "Full")
	chain := []*x509.Certificate{p.leaf.cert, p.inter.cert, p.root.cert}
	if got := ThumbprintOf(chain); got != sha1Hex(p.root.cert) || len(got) != 40 || got != strings.ToLower(got) {
		t.Fatalf("ThumbprintOf = %s", got)
	}
	if ThumbprintOf(nil) != "" {
		t.Fatal("ThumbprintOf(nil)")
	}
	var srv *httptest.Server
	srv = serve(t, p.leaf, chain, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"jwks_uri":"` + srv.URL + `/jwks"}`))
	}))
	roots := x509.NewCertPool()
	roots.AddCert(p.root.cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	res, err := Thumbprint(context.Background(), srv.URL, ThumbprintOptions{HTTPClient: client, RootCAs: roots})
	if err != nil || res.Thumbprint != sha1Hex(p.root.cert) || res.ChainLength != 3 {
		t.Fatalf("Thumbprint = %+v, %v", res, err)
	}
}

func TestThumbprintErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Thumbprint(ctx, "http://idp.example.com", ThumbprintOptions{}); err == nil || !strings.Contains(err.Error(), "https") {
		t.Fatalf("http issuer: %v", err)
	}
	if _, err := Thumbprint(ctx, "::", ThumbprintOptions{}); err == nil {
		t.Fatal("bad URL accepted")
	}
	p := newPKI(t, "E")
	roots := x509.NewCertPool()
	roots.AddCert(p.root.cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	for name, body := range map[string]string{"not JSON": "<html>", "no jwks_uri": `{}`, "http jwks": `{"jwks_uri":"http://127.0.0.1/keys"}`} {
		srv := serve(t, p.leaf, []*x509.Certificate{p.leaf.cert, p.inter.cert}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(body))
		}))
		if _, err := Thumbprint(ctx, srv.URL, ThumbprintOptions{HTTPClient: client, RootCAs: roots}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
