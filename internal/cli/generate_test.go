package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tipctl/tipctl/tip/config"
)

func TestGenerateCFNTemplate(t *testing.T) {
	dtIsolate(t)
	r := dtRun(t, nil, "", "generate", "cfn-template", "--issuer", `https://idp.example.com/oauth2/"default"`, "--audience", "0oa: #1",
		"--thumbprint", strings.Repeat("AB", 20), "--services", "s3ag,quicksight")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var m map[string]any
	if err := yaml.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("not YAML: %v\n%s", err, r.stdout)
	}
	res := m["Resources"].(map[string]any)
	provider := res["OIDCProvider"].(map[string]any)["Properties"].(map[string]any)
	if provider["Url"] != `https://idp.example.com/oauth2/"default"` || provider["ThumbprintList"].([]any)[0] != strings.Repeat("ab", 20) {
		t.Fatalf("provider %v", provider)
	}
	if m["Parameters"].(map[string]any)["Audience"].(map[string]any)["Default"] != "0oa: #1" {
		t.Fatalf("audience parameter %v", m["Parameters"])
	}
	pols := res["EnhancedRole"].(map[string]any)["Properties"].(map[string]any)["Policies"].([]any)
	if len(pols) != 2 {
		t.Fatalf("enhanced role policies %v", pols)
	}
	for _, k := range []string{"OIDCProviderArn", "BridgeRoleArn", "EnhancedRoleArn"} {
		if _, ok := m["Outputs"].(map[string]any)[k]; !ok {
			t.Fatalf("no output %s", k)
		}
	}

	// JSON with --format json, or with --output json.
	for _, args := range [][]string{{"--format", "json"}, {"-o", "json"}} {
		r = dtRun(t, nil, "", append([]string{"generate", "cfn-template", "--issuer", "https://idp.example.com", "--audience", "a"}, args...)...)
		var doc map[string]any
		if r.code != ExitOK || json.Unmarshal([]byte(r.stdout), &doc) != nil || doc["AWSTemplateFormatVersion"] != "2010-09-09" {
			t.Fatalf("%v: exit %d\n%s", args, r.code, r.stdout)
		}
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--audience", "a"}, "--issuer"},
		{[]string{"--issuer", "http://idp.example.com", "--audience", "a"}, "https"},
		{[]string{"--issuer", "https://idp.example.com", "--audience", "a", "--thumbprint", "zz"}, "--thumbprint"},
		{[]string{"--issuer", "https://idp.example.com", "--audience", "a", "--services", "athena,ec2"}, "ec2"},
		{[]string{"--issuer", "https://idp.example.com", "--audience", "a", "--format", "xml"}, "format"},
	} {
		r := dtRun(t, nil, "", append([]string{"generate", "cfn-template"}, c.args...)...)
		if r.code != ExitUsage || r.stdout != "" || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d stdout %q stderr %q", c.args, r.code, r.stdout, r.stderr)
		}
	}
}

func TestGenerateCFNDefaultsFromProfile(t *testing.T) {
	dir := dtIsolate(t)
	cfg, _ := config.LoadFile(filepath.Join(dir, config.ConfigFileName))
	if err := cfg.Set(&config.Profile{Name: "okta", Provider: config.ProviderOIDC, Issuer: "https://dev-1.okta.com/oauth2/default",
		ClientID: "0oaclient", ApplicationARN: "arn:aws:sso::123456789012:application/ssoins-1234567890abcdef/apl-abcdef0123456789",
		BridgeRoleARN: "arn:aws:iam::123456789012:role/tip-bridge", EnhancedRoleARN: "arn:aws:iam::123456789012:role/tip-enhanced",
		Region: "eu-west-1"}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Save(); err != nil {
		t.Fatal(err)
	}
	r := dtRun(t, nil, "", "-p", "okta", "generate", "cfn-template", "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	var m struct {
		Metadata struct {
			Tipctl struct{ Issuer, Audience string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil || m.Metadata.Tipctl.Issuer != "https://dev-1.okta.com/oauth2/default" || m.Metadata.Tipctl.Audience != "0oaclient" {
		t.Fatalf("template metadata %+v %v", m, err)
	}

	r = dtRun(t, nil, "", "-p", "okta", "generate", "aws-config")
	if r.code != ExitOK || !strings.Contains(r.stdout, "[profile okta]\ncredential_process = tipctl auth get-iam-credentials --profile okta\nregion = eu-west-1\n") ||
		strings.Contains(r.stdout, "endpoint_url") {
		t.Fatalf("aws-config: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = dtRun(t, map[string]string{config.EnvProfile: "okta"}, "", "generate", "aws-config", "--aws-profile", "work", "-o", "json")
	var snip struct{ Profile, AWSProfile, Snippet string }
	if r.code != ExitOK || json.Unmarshal([]byte(strings.ReplaceAll(r.stdout, "aws_profile", "awsprofile")), &snip) != nil ||
		snip.AWSProfile != "work" || !strings.Contains(snip.Snippet, "[profile work]") {
		t.Fatalf("aws-config json: exit %d %s", r.code, r.stdout)
	}
	if r := dtRun(t, nil, "", "-p", "missing", "generate", "aws-config"); r.code != ExitConfig {
		t.Fatalf("missing profile: exit %d %s", r.code, r.stderr)
	}
}

// TestGenerateThumbprintAuto computes the thumbprint from a TLS server
// whose chain is root → intermediate → leaf, trusted through AWS_CA_BUNDLE.
func TestGenerateThumbprintAuto(t *testing.T) {
	dtIsolate(t)
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	issue := func(tmpl, parent *x509.Certificate, pub, signer any) *x509.Certificate {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c
	}
	ca := func(cn string, n int64) *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(n), Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	}
	rootKey, interKey, leafKey := key(), key(), key()
	root := issue(ca("Test Root", 1), ca("Test Root", 1), &rootKey.PublicKey, rootKey)
	inter := issue(ca("Test Intermediate", 2), root, &interKey.PublicKey, rootKey)
	leaf := issue(&x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}, inter, &leafKey.PublicKey, interKey)

	var srv *httptest.Server
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"issuer":"` + srv.URL + `","jwks_uri":"` + srv.URL + `/jwks"}`))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leaf.Raw, inter.Raw}, PrivateKey: leafKey}}}
	// The case without the CA refuses the chain on purpose; the server would
	// log that handshake as an error in the test output.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(inter.Raw)
	want := hex.EncodeToString(sum[:])

	r := dtRun(t, map[string]string{"AWS_CA_BUNDLE": bundle}, "", "generate", "cfn-template", "--issuer", srv.URL, "--audience", "a",
		"--thumbprint", "auto", "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, `"ThumbprintList": [`+"\n"+`          "`+want+`"`) || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "Test Intermediate") {
		t.Fatalf("thumbprint %s not in template:\n%s\nstderr %s", want, r.stdout, r.stderr)
	}
	// Without the CA the chain does not verify: a network error with the way out.
	r = dtRun(t, nil, "", "generate", "cfn-template", "--issuer", srv.URL, "--audience", "a", "--thumbprint", "auto")
	if r.code != ExitNetwork || !strings.Contains(r.stderr, "--thumbprint HEX") || r.stdout != "" {
		t.Fatalf("untrusted: exit %d %s", r.code, r.stderr)
	}
}

// TestGenerateAWSConfigReadByAWSCLI has the AWS CLI read the snippet back.
func TestGenerateAWSConfigReadByAWSCLI(t *testing.T) {
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the AWS CLI (aws) is not installed; skipping the cross-check")
	}
	dir := dtIsolate(t)
	cfg, _ := config.LoadFile(filepath.Join(dir, config.ConfigFileName))
	if err := cfg.Set(&config.Profile{Name: "sb", Provider: config.ProviderSandbox, Issuer: "http://127.0.0.1:4577/idp", ClientID: "tipctl",
		ApplicationARN: "arn:aws:sso::123456789012:application/ssoins-1234567890abcdef/apl-abcdef0123456789",
		BridgeRoleARN:  "arn:aws:iam::123456789012:role/tip-bridge", EnhancedRoleARN: "arn:aws:iam::123456789012:role/tip-enhanced",
		Region: "us-east-1", EndpointURL: "http://127.0.0.1:4577", SandboxAdminKeyID: "test", SandboxAdminSecretKey: "test"}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Save(); err != nil {
		t.Fatal(err)
	}
	r := dtRun(t, nil, "", "-p", "sb", "generate", "aws-config", "--aws-profile", "tip-sandbox")
	if r.code != ExitOK {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	file := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(file, []byte("[default]\nregion = eu-west-1\n\n"+r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"credential_process": "tipctl auth get-iam-credentials --profile sb", "region": "us-east-1",
		"endpoint_url": "http://127.0.0.1:4577"} {
		cmd := exec.Command(awsBin, "configure", "get", key, "--profile", "tip-sandbox")
		cmd.Env = []string{"AWS_CONFIG_FILE=" + file, "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(t.TempDir(), "none"), "HOME=" + t.TempDir(),
			"PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != want {
			t.Errorf("aws configure get %s = %q (%v), want %q", key, out, err, want)
		}
	}
}
