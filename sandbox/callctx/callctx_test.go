package callctx_test

import (
	"context"
	"testing"

	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/callctx"
)

func TestSettersAndFirstDecisionWins(t *testing.T) {
	bare := context.Background()
	// Without an Info every setter is a no-op.
	callctx.SetOperation(bare, "X")
	callctx.Deny(bare, callctx.Decision{Kind: "k"})
	if callctx.From(bare) != nil {
		t.Fatal("a bare context has an Info")
	}
	ctx, in := callctx.New(bare)
	p := &auth.Principal{Arn: "arn:aws:iam::1:user/u"}
	callctx.SetOperation(ctx, "GetObject")
	callctx.SetPrincipal(ctx, p)
	callctx.AddEventData(ctx, "k", "v")
	callctx.Deny(ctx, callctx.Decision{Kind: "first", Reason: "told to the caller"})
	callctx.Deny(ctx, callctx.Decision{Kind: "second"})
	s := in.Snapshot()
	if s.Operation != "GetObject" || s.Principal != p || s.Additions["k"] != "v" || s.Decision == nil || s.Decision.Kind != "first" {
		t.Fatalf("snapshot %+v", s)
	}
}
