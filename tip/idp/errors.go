package idp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"

	"golang.org/x/oauth2"
)

// Sentinel errors; the typed errors below match them with errors.Is.
var (
	// ErrLoginRequired means the saved sign-in can no longer be used (the
	// refresh token expired, was revoked or was already used): the person
	// must log in again.
	ErrLoginRequired = errors.New("log in again")
	// ErrRevokeUnsupported means the IdP has no revocation endpoint (none
	// in discovery and none configured).
	ErrRevokeUnsupported = errors.New("the identity provider does not support token revocation (no revocation_endpoint)")
	// ErrDeviceUnsupported means the IdP has no device authorization endpoint.
	ErrDeviceUnsupported = errors.New("the identity provider does not support the device flow (no device_authorization_endpoint); use the browser login or configure the endpoint")
	// ErrLoginTimeout means nobody completed the browser sign-in in time.
	ErrLoginTimeout = errors.New("login timed out")
	// ErrStateMismatch means the redirect to the loopback did not carry the
	// state of this login (a stale tab, or a forged request).
	ErrStateMismatch = errors.New("the sign-in response does not belong to this login (state mismatch); run the login again")
	// ErrNonceMismatch means the ID token's nonce is not the one this login sent.
	ErrNonceMismatch = errors.New("the ID token's nonce does not match this login (possible token replay); run the login again")
	// ErrDeviceExpired means the device code expired before anyone approved it.
	ErrDeviceExpired = errors.New("the device code expired before the sign-in was approved; run the login again")
	// ErrAccessDenied means the person (or the IdP's policy) refused the sign-in.
	ErrAccessDenied = errors.New("access denied")
)

// LoginRequiredError is the typed form of ErrLoginRequired.
type LoginRequiredError struct {
	// Reason says why, e.g. the IdP's error description.
	Reason string
}

func (e *LoginRequiredError) Error() string {
	if e.Reason == "" {
		return "the saved sign-in is no longer valid; log in again"
	}
	return "the saved sign-in is no longer valid (" + e.Reason + "); log in again"
}

// Is makes errors.Is(err, ErrLoginRequired) true.
func (e *LoginRequiredError) Is(target error) bool { return target == ErrLoginRequired }

// OAuthError is an OAuth 2.0 / OpenID Connect error answered by the IdP,
// either at the token endpoint or in a redirect to the loopback.
type OAuthError struct {
	// Op is what tipctl was doing ("sign-in", "token exchange", "refresh", ...).
	Op string
	// Code is the OAuth error code (invalid_grant, access_denied, ...).
	Code string
	// Description is the IdP's error_description.
	Description string
	// URI is the IdP's error_uri.
	URI string
	// Status is the HTTP status of a token endpoint answer (0 for redirects).
	Status int
}

func (e *OAuthError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: the identity provider answered %s", e.Op, e.Code)
	if e.Code == "" {
		fmt.Fprintf(&b, "HTTP %d", e.Status)
	}
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	if e.URI != "" {
		b.WriteString(" (see " + e.URI + ")")
	}
	return b.String()
}

// Is makes access_denied match ErrAccessDenied and expired_token match
// ErrDeviceExpired.
func (e *OAuthError) Is(target error) bool {
	switch target {
	case ErrAccessDenied:
		return e.Code == "access_denied"
	case ErrDeviceExpired:
		return e.Code == "expired_token"
	}
	return false
}

// UnreachableError means the IdP could not be reached: connection refused,
// DNS failure, timeout.
type UnreachableError struct {
	URL    string
	Reason string
	Err    error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the identity provider at %s (%s); check the issuer / network", e.URL, e.Reason)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// TLSError means the TLS handshake with the IdP failed (untrusted or
// mismatched certificate, protocol error).
type TLSError struct {
	URL string
	Err error
}

func (e *TLSError) Error() string {
	return fmt.Sprintf("TLS problem talking to the identity provider at %s: %v; check the issuer URL and the trusted certificate authorities", e.URL, e.Err)
}

func (e *TLSError) Unwrap() error { return e.Err }

// DiscoveryError means the IdP's discovery document is missing, malformed
// or does not describe the configured issuer.
type DiscoveryError struct {
	Issuer string
	Reason string
	Err    error
}

func (e *DiscoveryError) Error() string {
	return fmt.Sprintf("OpenID discovery for %s failed: %s", e.Issuer, e.Reason)
}

func (e *DiscoveryError) Unwrap() error { return e.Err }

// TokenError means the IdP's ID token failed verification (signature,
// issuer, audience, expiry, nonce) or is missing.
type TokenError struct {
	Reason string
	Err    error
}

func (e *TokenError) Error() string {
	return "the identity provider's ID token was rejected: " + e.Reason
}

func (e *TokenError) Unwrap() error { return e.Err }

// classify turns a transport error into UnreachableError / TLSError, and
// an OAuth error answer into OAuthError. target is the URL that was
// requested; it never carries secrets (codes and tokens travel in bodies).
func classify(op, target string, err error) error {
	if err == nil {
		return nil
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		oe := &OAuthError{Op: op, Code: re.ErrorCode, Description: re.ErrorDescription, URI: re.ErrorURI}
		if re.Response != nil {
			oe.Status = re.Response.StatusCode
		}
		if oe.Code == "" && oe.Status == 0 {
			oe.Code = "an unexpected answer"
		}
		return oe
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	if u, ok := errors.AsType[*url.Error](err); ok && target == "" {
		target = u.URL
	}
	if tlsErr := asTLS(err); tlsErr != nil {
		return &TLSError{URL: target, Err: tlsErr}
	}
	if reason := unreachableReason(err); reason != "" {
		return &UnreachableError{URL: target, Reason: reason, Err: err}
	}
	return fmt.Errorf("%s at %s: %w", op, target, err)
}

func asTLS(err error) error {
	if e, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return e
	}
	if e, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return e
	}
	if e, ok := errors.AsType[x509.HostnameError](err); ok {
		return e
	}
	if e, ok := errors.AsType[x509.CertificateInvalidError](err); ok {
		return e
	}
	if e, ok := errors.AsType[tls.RecordHeaderError](err); ok {
		return fmt.Errorf("the server did not answer with TLS (is the issuer http rather than https?): %w", e)
	}
	if e, ok := errors.AsType[*tls.AlertError](err); ok {
		return e
	}
	return nil
}

func unreachableReason(err error) string {
	if dnsErr, ok := errors.AsType[*net.DNSError](err); ok {
		if dnsErr.IsNotFound {
			return "the host name " + dnsErr.Name + " does not resolve"
		}
		return "DNS lookup failed: " + dnsErr.Err
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to host"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return "timed out"
	}
	if _, ok := errors.AsType[*net.OpError](err); ok {
		return "network error: " + err.Error()
	}
	return ""
}
