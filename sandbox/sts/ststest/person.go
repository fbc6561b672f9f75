package ststest

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/auth"
)

// Person makes an identity-enhanced session of the world's tip-enhanced
// role for an Identity Center user with the groups the world gives them,
// as sts:AssumeRole with an IdentityCenter provided context does. A user
// the identity store lacks (dave) gets a made-up user id and no groups.
func Person(t testing.TB, sb *sandbox.Sandbox, user string) aws.CredentialsProvider {
	t.Helper()
	role, ok := sb.Env.IAM.RoleByName("tip-enhanced")
	if !ok {
		t.Fatal("the world has no role tip-enhanced")
	}
	ic := sb.Env.World.IdentityCenter
	ctx := &auth.IdentityContext{Provider: auth.IdentityCenterProvider, UserName: user, InstanceArn: ic.InstanceArn,
		IdentityStoreID: ic.IdentityStoreID, ExpiresAt: sb.Env.Now().Add(time.Hour)}
	for _, u := range ic.Users {
		if u.UserName == user {
			ctx.UserID, ctx.Email = u.UserID, u.Email
		}
	}
	for _, g := range ic.Groups {
		for _, m := range g.Members {
			if m == user {
				ctx.Groups = append(ctx.Groups, auth.Group{ID: g.GroupID, Name: g.Name})
			}
		}
	}
	if ctx.UserID == "" {
		ctx.UserID = "90000000-0000-0000-0000-" + fmt.Sprintf("%012d", len(user))
	}
	p := &auth.Principal{AccountID: sb.Env.World.AccountID, Arn: "arn:aws:sts::" + sb.Env.World.AccountID + ":assumed-role/tip-enhanced/" + user,
		UserID: role.RoleID + ":" + user, RoleArn: role.Arn, RoleName: role.Name, SessionName: user,
		Policies: role.Policies, Context: ctx}
	p = sb.Env.Registry.IssueSession(p, sb.Env.Now().Add(time.Hour))
	return Static(p.AccessKeyID, p.SecretAccessKey, p.SessionToken)
}
