package redshiftdata_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	rsd "github.com/aws/aws-sdk-go-v2/service/redshiftdata"
	rsdtypes "github.com/aws/aws-sdk-go-v2/service/redshiftdata/types"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// person makes an identity-enhanced session of tip-enhanced for an
// Identity Center user, with the groups the world gives them, as
// sts:AssumeRole with an IdentityCenter provided context does.
func person(t testing.TB, sb *sandbox.Sandbox, user string) aws.CredentialsProvider {
	t.Helper()
	return personIn(t, sb, user, nil)
}

// personIn is person with the given groups instead of the world's.
func personIn(t testing.TB, sb *sandbox.Sandbox, user string, groups []string) aws.CredentialsProvider {
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
			if m == user && groups == nil {
				ctx.Groups = append(ctx.Groups, auth.Group{ID: g.GroupID, Name: g.Name})
			}
		}
	}
	if ctx.UserID == "" { // a person the test adds to the identity store
		ctx.UserID = "90000000-0000-0000-0000-" + fmt.Sprintf("%012d", len(user))
	}
	for _, g := range groups {
		ctx.Groups = append(ctx.Groups, auth.Group{Name: g})
	}
	p := &auth.Principal{AccountID: sb.Env.World.AccountID, Arn: "arn:aws:sts::" + sb.Env.World.AccountID + ":assumed-role/tip-enhanced/" + user,
		UserID: role.RoleID + ":" + user, RoleArn: role.Arn, RoleName: role.Name, SessionName: user,
		Policies: role.Policies, Context: ctx}
	p = sb.Env.Registry.IssueSession(p, sb.Env.Now().Add(time.Hour))
	return ststest.Static(p.AccessKeyID, p.SecretAccessKey, p.SessionToken)
}

func client(sb *sandbox.Sandbox, creds aws.CredentialsProvider) *rsd.Client {
	return rsd.NewFromConfig(ststest.Config(sb, creds))
}

type outcome struct {
	Status  string
	Error   string
	Columns []string
	Rows    [][]string
}

// run executes sql on the default workgroup and waits for the end.
func run(t testing.TB, c *rsd.Client, workgroup, sql string, params ...rsdtypes.SqlParameter) outcome {
	t.Helper()
	ctx := context.Background()
	out, err := c.ExecuteStatement(ctx, &rsd.ExecuteStatementInput{Sql: aws.String(sql), WorkgroupName: aws.String(workgroup),
		Database: aws.String("dev"), Parameters: params})
	if err != nil {
		t.Fatalf("ExecuteStatement %q: %v", sql, err)
	}
	return wait(t, c, *out.Id)
}

func wait(t testing.TB, c *rsd.Client, id string) outcome {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := c.DescribeStatement(ctx, &rsd.DescribeStatementInput{Id: aws.String(id)})
		if err != nil {
			t.Fatalf("DescribeStatement: %v", err)
		}
		switch d.Status {
		case rsdtypes.StatusStringFinished:
			o := outcome{Status: string(d.Status)}
			if d.HasResultSet == nil || !*d.HasResultSet {
				return o
			}
			var token *string
			for {
				r, err := c.GetStatementResult(ctx, &rsd.GetStatementResultInput{Id: aws.String(id), NextToken: token})
				if err != nil {
					t.Fatalf("GetStatementResult: %v", err)
				}
				if o.Columns == nil {
					for _, m := range r.ColumnMetadata {
						o.Columns = append(o.Columns, *m.Name)
					}
				}
				for _, rec := range r.Records {
					var row []string
					for _, f := range rec {
						row = append(row, fieldText(f))
					}
					o.Rows = append(o.Rows, row)
				}
				if r.NextToken == nil {
					return o
				}
				token = r.NextToken
			}
		case rsdtypes.StatusStringFailed, rsdtypes.StatusStringAborted:
			return outcome{Status: string(d.Status), Error: aws.ToString(d.Error)}
		}
		if time.Now().After(deadline) {
			t.Fatalf("statement %s still %s", id, d.Status)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func fieldText(f rsdtypes.Field) string {
	switch v := f.(type) {
	case *rsdtypes.FieldMemberStringValue:
		return v.Value
	case *rsdtypes.FieldMemberLongValue:
		return itoa(v.Value)
	case *rsdtypes.FieldMemberDoubleValue:
		return ftoa(v.Value)
	case *rsdtypes.FieldMemberBooleanValue:
		if v.Value {
			return "true"
		}
		return "false"
	case *rsdtypes.FieldMemberIsNull:
		return "NULL"
	}
	return "?"
}
