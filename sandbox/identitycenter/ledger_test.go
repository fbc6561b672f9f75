package identitycenter_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/tipctl/tipctl/sandbox/identitycenter"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// flipSignatureLowBit re-encodes a JWS with the low bit of its signature's
// last base64url character flipped. That bit is padding (an RS256
// signature is 256 bytes: its last character carries 2 bits of data), so
// the signature bytes, and so its validity, are unchanged.
func flipSignatureLowBit(t *testing.T, token string) string {
	t.Helper()
	last := token[len(token)-1]
	i := strings.IndexByte(b64url, last)
	if i < 0 {
		t.Fatalf("the token does not end in a base64url character: %q", last)
	}
	flipped := token[:len(token)-1] + string(b64url[i^1])
	sig := func(tok string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(tok[strings.LastIndexByte(tok, '.')+1:])
		if err != nil {
			t.Fatalf("signature: %v", err)
		}
		return b
	}
	if flipped == token || string(sig(flipped)) != string(sig(token)) {
		t.Fatal("the flipped token must differ as text and decode to the same signature")
	}
	return flipped
}

// TestReencodedAssertionIsStillUsed: an assertion, once exchanged, cannot be
// exchanged again under another encoding of the same signature, with or
// without a jti. (The ledger was keyed by the token text, so the copy with
// one bit flipped in the signature's padding verified and was accepted.)
func TestReencodedAssertionIsStillUsed(t *testing.T) {
	sb, iss := ststest.Start(t, nil)
	ctx := context.Background()
	br := bridge(t, sb, iss)
	appArn := ststest.AppArn(t, sb, appName)
	now := sb.Env.Now()

	withJTI := iss.Token(t, "alice@example.com", now)
	claims := iss.Claims("bob@example.com", now)
	delete(claims, "jti")
	noJTI := iss.Mint(t, claims)
	for name, tok := range map[string]string{"with jti": withJTI, "without jti": noJTI} {
		t.Run(name, func(t *testing.T) {
			reenc := flipSignatureLowBit(t, tok)
			if _, err := ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, jwtBearer(appArn, tok)); err != nil {
				t.Fatalf("first exchange: %v", err)
			}
			_, err := ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, jwtBearer(appArn, reenc))
			wantError(t, err, "InvalidGrantException", 400)
			if _, desc := oauthDescription(err); !strings.Contains(desc, "only once") {
				t.Errorf("the re-encoded copy was refused for another reason: %q", desc)
			}
		})
	}

	// The copy is refused because it is the same token, not because the
	// flipped encoding is invalid: a fresh token's flipped copy is accepted
	// once (then the original is the replay).
	fresh := iss.Token(t, "carol@example.com", now)
	if _, err := ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, jwtBearer(appArn, flipSignatureLowBit(t, fresh))); err != nil {
		t.Fatalf("a fresh token's re-encoded copy: %v", err)
	}
	_, err := ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, jwtBearer(appArn, fresh))
	wantError(t, err, "InvalidGrantException", 400)
}

// TestReencodedRefreshTokenIsUnknown: the refresh-token ledger is looked up
// by the exact opaque token, so a re-encoded copy (the padding bit of its
// last base64url character flipped) is unknown: it neither redeems nor
// spends the real token.
func TestReencodedRefreshTokenIsUnknown(t *testing.T) {
	sb, iss := ststest.Start(t, nil)
	ctx := context.Background()
	br := bridge(t, sb, iss)
	appArn := ststest.AppArn(t, sb, appName)
	out, err := ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, jwtBearer(appArn, iss.Token(t, "alice@example.com", sb.Env.Now())))
	if err != nil {
		t.Fatal(err)
	}
	rt := aws.ToString(out.RefreshToken)
	last := strings.IndexByte(b64url, rt[len(rt)-1])
	if last < 0 {
		t.Fatalf("the refresh token does not end in a base64url character: %q", rt[len(rt)-1:])
	}
	refresh := func(tok string) error {
		_, err := ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(appArn),
			GrantType: aws.String(identitycenter.GrantRefreshToken), RefreshToken: aws.String(tok)})
		return err
	}
	wantError(t, refresh(rt[:len(rt)-1]+string(b64url[last^1])), "InvalidGrantException", 400)
	if err := refresh(rt); err != nil {
		t.Fatalf("the real refresh token after its copy was refused: %v", err)
	}
}
