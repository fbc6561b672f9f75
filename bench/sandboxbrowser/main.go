// Command sandboxbrowser is a BROWSER for scripts against the tipctl
// sandbox: given the login URL `tipctl auth login` opens, it signs in on
// the sandbox IdP's login page as a person would (sandbox/idp.FollowLogin)
// and follows the redirect back to tipctl's loopback listener.
//
//	BROWSER=/path/to/sandboxbrowser tipctl auth login --browser
//
// The user is TIPCTL_SANDBOX_USER / TIPCTL_SANDBOX_PASSWORD (default
// alice@example.com / alice-sandbox-pw). It works only with the sandbox's
// IdP, whose login page it knows how to fill in; it refuses URLs that are
// not on a loopback address.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	sbidp "github.com/tipctl/tipctl/sandbox/idp"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: sandboxbrowser LOGIN_URL (as BROWSER for tipctl auth login)")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "sandboxbrowser:", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func loopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	h := u.Hostname()
	ip := net.ParseIP(h)
	return h == "localhost" || ip != nil && ip.IsLoopback()
}

func run(loginURL string) error {
	if !loopback(loginURL) {
		return fmt.Errorf("%q is not a sandbox URL on a loopback address", loginURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &http.Client{Timeout: 10 * time.Second}
	user, pw := envOr("TIPCTL_SANDBOX_USER", "alice@example.com"), envOr("TIPCTL_SANDBOX_PASSWORD", "alice-sandbox-pw")
	loc, err := sbidp.FollowLogin(ctx, client, loginURL, user, pw)
	if err != nil {
		return err
	}
	if !loopback(loc.String()) {
		return fmt.Errorf("the IdP redirected to %s, not to a loopback listener", loc.Redacted())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("following the redirect to tipctl: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("tipctl's loopback listener answered HTTP %d", resp.StatusCode)
	}
	return nil
}
