package idp_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/idp"
)

// DiscoveryURL reads the document elsewhere, and the document must still
// name the configured issuer exactly: a trailing slash more is refused.
func TestDiscoveryURL(t *testing.T) {
	ctx := context.Background()
	sb := ststest.Sandbox(t, nil)
	doc := sb.URL() + "/idp/.well-known/openid-configuration"
	p, err := idp.Discover(ctx, idp.Config{Issuer: sb.URL() + "/idp", ClientID: "tipctl", DiscoveryURL: doc})
	if err != nil || p.Endpoints().TokenURL != sb.URL()+"/idp/token" {
		t.Fatalf("Discover via DiscoveryURL: %v", err)
	}
	_, err = idp.Discover(ctx, idp.Config{Issuer: sb.URL() + "/idp/", ClientID: "tipctl", DiscoveryURL: doc})
	var de *idp.DiscoveryError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "names the issuer") || !strings.Contains(err.Error(), "trailing slashes") {
		t.Fatalf("issuer mismatch through DiscoveryURL: %v", err)
	}
	_, err = idp.Discover(ctx, idp.Config{Issuer: sb.URL() + "/idp", ClientID: "tipctl", DiscoveryURL: sb.URL() + "/idp/config.json"})
	if err == nil || !strings.Contains(err.Error(), "/.well-known/openid-configuration") {
		t.Fatalf("a discovery URL of another shape: %v", err)
	}
}
