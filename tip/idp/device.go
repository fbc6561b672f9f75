package idp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// DeviceOptions tune the device login.
type DeviceOptions struct {
	// Out receives the verification URL and the user code; nil means os.Stderr.
	Out io.Writer
	// Open, when set, is called (in its own goroutine) with the
	// verification URL, the complete one with the code when the IdP sends
	// it; its error is reported and the login goes on.
	Open func(url string) error
}

// DeviceLogin signs in with the OAuth 2.0 device authorization grant
// (RFC 8628): it asks the IdP for a user code, prints where to enter it,
// and polls the token endpoint at the IdP's interval (slower after
// slow_down) until the person approves or denies, or the code expires.
func DeviceLogin(ctx context.Context, cfg Config, opts DeviceOptions) (*Tokens, error) {
	p, err := Discover(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return p.DeviceLogin(ctx, opts)
}

// DeviceLogin is the package-level DeviceLogin with a discovered provider.
func (p *Provider) DeviceLogin(ctx context.Context, opts DeviceOptions) (*Tokens, error) {
	if p.endpoints.DeviceAuthURL == "" {
		return nil, ErrDeviceUnsupported
	}
	w := opts.Out
	if w == nil {
		w = os.Stderr
	}
	out := &guardedWriter{w: w} // Open reports from its goroutine; nothing is written after return
	defer out.stop()
	oc := p.oauth2Config("")
	var auth []oauth2.AuthCodeOption
	if !p.public() { // x/oauth2 sends only client_id to the device endpoint
		auth = append(auth, oauth2.SetAuthURLParam("client_secret", p.cfg.ClientSecret))
	}
	da, err := oc.DeviceAuth(p.ctx(ctx), auth...)
	if err != nil {
		return nil, classify("device authorization", p.endpoints.DeviceAuthURL, err)
	}
	if da.DeviceCode == "" || da.UserCode == "" || da.VerificationURI == "" {
		return nil, fmt.Errorf("device authorization: the identity provider's answer lacks device_code, user_code or verification_uri")
	}
	fmt.Fprintf(out, "To sign in, open this page on any device:\n\n    %s\n\nand enter the code:\n\n    %s\n\n", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(out, "(or open %s)\n", da.VerificationURIComplete)
	}
	if !da.Expiry.IsZero() {
		fmt.Fprintf(out, "Waiting for the approval (the code expires in %s)...\n", time.Until(da.Expiry).Round(time.Second))
	} else {
		fmt.Fprintf(out, "Waiting for the approval...\n")
	}
	if opts.Open != nil {
		target := da.VerificationURIComplete
		if target == "" {
			target = da.VerificationURI
		}
		go func() {
			if err := opts.Open(target); err != nil {
				fmt.Fprintf(out, "Could not open a browser (%v); open the page above.\n", err)
			}
		}()
	}
	tok, err := oc.DeviceAccessToken(p.ctx(ctx), da, auth...)
	if err != nil {
		return nil, deviceError(ctx, p.endpoints.TokenURL, err)
	}
	return p.verify(ctx, tok, "", false)
}

func deviceError(ctx context.Context, tokenURL string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("device login cancelled: %w", ctx.Err())
	}
	if errors.Is(err, context.DeadlineExceeded) { // x/oauth2 stops polling at the code's expiry
		return ErrDeviceExpired
	}
	c := classify("device login", tokenURL, err)
	var oe *OAuthError
	if errors.As(c, &oe) {
		switch oe.Code {
		case "access_denied":
			return fmt.Errorf("the sign-in was denied on the verification page: %w", oe)
		case "expired_token":
			return fmt.Errorf("%w: %w", ErrDeviceExpired, oe)
		}
	}
	return c
}

// guardedWriter serializes writes and drops those after stop.
type guardedWriter struct {
	mu  sync.Mutex
	w   io.Writer
	off bool
}

func (g *guardedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.off {
		return len(p), nil
	}
	return g.w.Write(p)
}

func (g *guardedWriter) stop() {
	g.mu.Lock()
	g.off = true
	g.mu.Unlock()
}
