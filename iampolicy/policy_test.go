package iampolicy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestEvaluate(t *testing.T) {
	trust := MustParse(`{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/idp.example"},
	  "Action":"sts:AssumeRoleWithWebIdentity",
	  "Condition":{"StringEquals":{"idp.example:aud":"tipctl"},"StringLike":{"idp.example:sub":"00u*"}}},
	 {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:role/tip-bridge"]},"Action":["sts:AssumeRole","sts:SetContext"]},
	 {"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceIdentity":"mallory"}}}]}`)
	web := &Caller{Federated: "arn:aws:iam::123456789012:oidc-provider/idp.example"}
	bridge := &Caller{Account: "123456789012", ARNs: []string{"arn:aws:sts::123456789012:assumed-role/tip-bridge/s", "arn:aws:iam::123456789012:role/tip-bridge"}}
	other := &Caller{Account: "123456789012", ARNs: []string{"arn:aws:iam::123456789012:role/other"}}
	cases := []struct {
		name string
		req  Request
		want Decision
	}{
		{"web identity with the right aud and sub", Request{Action: "sts:AssumeRoleWithWebIdentity", Caller: web,
			Context: map[string][]string{"idp.example:aud": {"tipctl"}, "idp.example:sub": {"00uabc"}}}, Allow},
		{"wrong aud", Request{Action: "sts:AssumeRoleWithWebIdentity", Caller: web,
			Context: map[string][]string{"idp.example:aud": {"other"}, "idp.example:sub": {"00uabc"}}}, ImplicitDeny},
		{"sub not like", Request{Action: "sts:AssumeRoleWithWebIdentity", Caller: web,
			Context: map[string][]string{"idp.example:aud": {"tipctl"}, "idp.example:sub": {"x00u"}}}, ImplicitDeny},
		{"missing aud", Request{Action: "sts:AssumeRoleWithWebIdentity", Caller: web,
			Context: map[string][]string{"idp.example:sub": {"00uabc"}}}, ImplicitDeny},
		{"bridge may assume, action case-insensitive", Request{Action: "STS:assumerole", Caller: bridge}, Allow},
		{"bridge may set context", Request{Action: "sts:SetContext", Caller: bridge}, Allow},
		{"other role may not", Request{Action: "sts:AssumeRole", Caller: other}, ImplicitDeny},
		{"explicit deny wins", Request{Action: "sts:AssumeRole", Caller: bridge,
			Context: map[string][]string{"aws:SourceIdentity": {"mallory"}}}, ExplicitDeny},
	}
	for _, c := range cases {
		if got := trust.Evaluate(c.req); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestIdentityPolicyResourcesAndOperators(t *testing.T) {
	d := MustParse(`{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::analytics-data/emea/*"},
	 {"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::analytics-data",
	  "Condition":{"StringLike":{"s3:prefix":["emea/*","emea/"]}}},
	 {"Effect":"Allow","NotAction":"iam:*","Resource":"arn:aws:quicksight:*","Condition":{"StringEqualsIfExists":{"aws:RequestedRegion":"us-east-1"}}},
	 {"Effect":"Allow","Action":"sso:*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:PrincipalTag/team":["a","b"]},"Null":{"aws:TokenIssueTime":"false"}}}]}`)
	cases := []struct {
		action, resource string
		ctx              map[string][]string
		want             Decision
	}{
		{"s3:GetObject", "arn:aws:s3:::analytics-data/emea/q1.csv", nil, Allow},
		{"s3:GetObject", "arn:aws:s3:::analytics-data/apac/q1.csv", nil, ImplicitDeny},
		{"s3:PutObject", "arn:aws:s3:::analytics-data/emea/q1.csv", nil, ImplicitDeny},
		{"s3:ListBucket", "arn:aws:s3:::analytics-data", map[string][]string{"s3:prefix": {"emea/2024/"}}, Allow},
		{"s3:ListBucket", "arn:aws:s3:::analytics-data", map[string][]string{"s3:prefix": {"apac/"}}, ImplicitDeny},
		{"quicksight:DescribeUser", "arn:aws:quicksight:x", nil, Allow},
		{"quicksight:DescribeUser", "arn:aws:quicksight:x", map[string][]string{"aws:RequestedRegion": {"eu-west-1"}}, ImplicitDeny},
		{"iam:GetRole", "arn:aws:quicksight:x", nil, ImplicitDeny},
		{"sso:DescribeApplication", "", map[string][]string{"aws:PrincipalTag/team": {"z", "b"}, "aws:TokenIssueTime": {"1"}}, Allow},
		{"sso:DescribeApplication", "", map[string][]string{"aws:PrincipalTag/team": {"z"}, "aws:TokenIssueTime": {"1"}}, ImplicitDeny},
		{"sso:DescribeApplication", "", map[string][]string{"aws:PrincipalTag/team": {"a"}}, ImplicitDeny},
	}
	for _, c := range cases {
		if got := d.Evaluate(Request{Action: c.action, Resource: c.resource, Context: c.ctx}); got != c.want {
			t.Errorf("%s on %s %v: got %v, want %v", c.action, c.resource, c.ctx, got, c.want)
		}
	}
}

func TestWildcard(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{{"*", "", true}, {"a*c", "abbbc", true}, {"a*c", "abbb", false}, {"a?c", "abc", true}, {"a?c", "ac", false},
		{"emea/*", "emea/", true}, {"*x*y*", "axbyc", true}, {"", "", true}, {"", "a", false}, {"arn:*:s3:::b/*", "arn:aws:s3:::b/k", true}} {
		if Wildcard(c.p, c.s) != c.want {
			t.Errorf("Wildcard(%q, %q) != %v", c.p, c.s, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for doc, want := range map[string]string{
		`[]`:                               "not a JSON object",
		`{"Version":"2012-10-17"}`:         "no Statement",
		`{"Statement":{"Effect":"Allow"}}`: "Action is missing",
		`{"Statement":{"Effect":"Maybe","Action":"s3:GetObject"}}`:                                  "Effect must be Allow or Deny",
		`{"Statement":{"Effect":"Allow","Action":"GetObject"}}`:                                     "service:Action",
		`{"Statement":{"Effect":"Allow","Action":"s3:Get","Condition":{"StringEqualz":{"a":"b"}}}}`: "unknown condition operator",
		`{"Statement":{"Effect":"Allow","Action":"s3:Get","Principal":"me"}}`:                       "Principal",
		`{"Version":"2020-01-01","Statement":[]}`:                                                   "Version",
		`{"Statement":[],"Bogus":1}`:                                                                "unknown policy element",
	} {
		_, err := Parse([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s) = %v, want an error containing %q", doc, err, want)
		}
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	src := `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*",
	  "Condition":{"Null":{"identitystore:UserId":"false"},"StringLike":{"s3:prefix":["a/*","b/*"]}}},
	  {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::1:root","Service":"x.amazonaws.com"},"NotAction":"sts:*","NotResource":"*"}]}`
	d := MustParse(src)
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if !reflect.DeepEqual(d, back) {
		t.Fatalf("round trip differs:\n%+v\n%+v", d, back)
	}
}

func TestExplainNamesTheDecidingStatement(t *testing.T) {
	doc := MustParse(`{"Version":"2012-10-17","Statement":[
		{"Sid":"ReadEmea","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/emea/*","Condition":{"Null":{"identitystore:UserId":"false"}}},
		{"Sid":"NoApac","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::b/apac/*"}]}`)
	x := Explain(Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/apac/k"}, doc)
	if x.Decision != ExplicitDeny || x.Label() != "NoApac" {
		t.Fatalf("apac: %v %q", x.Decision, x.Label())
	}
	x = Explain(Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/emea/k", Context: map[string][]string{"identitystore:UserId": {"u1"}}}, doc)
	if x.Decision != Allow || x.Label() != "ReadEmea" {
		t.Fatalf("emea with person: %v %q", x.Decision, x.Label())
	}
	x = Explain(Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/emea/k"}, doc)
	if x.Decision != ImplicitDeny || x.NearMiss == nil || x.FailedCondition.Key != "identitystore:UserId" {
		t.Fatalf("emea without person: %+v", x)
	}
	if !strings.Contains(x.String(), "ReadEmea") || Explain(Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/emea/k"}, doc).Decision != Evaluate(Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/emea/k"}, doc) {
		t.Fatalf("explanation %q disagrees with Evaluate", x.String())
	}
}
