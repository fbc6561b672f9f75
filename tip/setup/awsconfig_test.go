package setup

import (
	"errors"
	"strings"
	"testing"
)

// ini parses the snippet the way the AWS CLI reads ~/.aws/config.
func ini(t *testing.T, s string) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	var cur map[string]string
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			cur = map[string]string{}
			out[line[1:len(line)-1]] = cur
		default:
			k, v, ok := strings.Cut(line, " = ")
			if !ok || cur == nil {
				t.Fatalf("line %q is not key = value in a section", line)
			}
			cur[k] = v
		}
	}
	return out
}

func TestAWSConfigSnippet(t *testing.T) {
	s, err := AWSConfigSnippet(AWSConfigOptions{Profile: "work", Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	m := ini(t, s)
	if len(m) != 1 || m["profile work"]["credential_process"] != "tipctl auth get-iam-credentials --profile work" ||
		m["profile work"]["region"] != "eu-west-1" || len(m["profile work"]) != 2 {
		t.Fatalf("snippet %q", s)
	}
	s, err = AWSConfigSnippet(AWSConfigOptions{Profile: "sandbox", AWSProfile: "tip-sandbox", Region: "us-east-1",
		EndpointURL: "http://127.0.0.1:4577", Command: "/usr/local/bin/tipctl auth get-iam-credentials --profile sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	m = ini(t, s)
	if p := m["profile tip-sandbox"]; p["endpoint_url"] != "http://127.0.0.1:4577" || !strings.HasPrefix(p["credential_process"], "/usr/local/bin/tipctl") {
		t.Fatalf("snippet %q", s)
	}
	s, _ = AWSConfigSnippet(AWSConfigOptions{Profile: "default"})
	if _, ok := ini(t, s)["default"]; !ok {
		t.Fatalf("default profile section: %q", s)
	}
	for _, o := range []AWSConfigOptions{
		{Profile: ""}, {Profile: "my profile"}, {Profile: "a]b"}, {Profile: "ok", AWSProfile: "x\ny"},
		{Profile: "ok", Region: "eu-west-1\n[profile evil]"}, {Profile: "ok", EndpointURL: "http://x\r\n"},
	} {
		var oe *OptionError
		if _, err := AWSConfigSnippet(o); !errors.As(err, &oe) {
			t.Errorf("%+v: err %v", o, err)
		}
	}
}
