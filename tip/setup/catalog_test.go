package setup

import (
	"strings"
	"testing"
)

func TestCatalog(t *testing.T) {
	all := Services()
	if len(all) < 230 {
		t.Fatalf("catalog has %d services", len(all))
	}
	seed := 0
	for i, s := range all {
		if s.Name == "" || s.Prefix == "" || (s.Source != "seed" && s.Source != "tipctl" && s.Source != SourceReference) {
			t.Fatalf("entry %d: %+v", i, s)
		}
		if s.Prefix != strings.ToLower(s.Prefix) {
			t.Fatalf("prefix %q is not lowercase", s.Prefix)
		}
		if s.Source == "seed" {
			seed++
		}
		if i > 0 && strings.ToLower(all[i-1].Name) > strings.ToLower(s.Name) {
			t.Fatalf("not sorted at %q", s.Name)
		}
	}
	if seed != 235 {
		t.Fatalf("%d seed entries, want the 235 of the published list", seed)
	}
	for _, p := range []string{"sts", "s3", "sso", "iam", "athena", "quicksight", "sso-oauth", "identitystore", "redshift-data", "qbusiness", "STS",
		"kafka-cluster", "datazone", "bedrock", "emr-serverless", "s3express"} {
		if !KnownPrefix(p) {
			t.Errorf("prefix %s unknown", p)
		}
	}
	for _, p := range []string{"", "stz", "s4", "sso_oauth"} {
		if KnownPrefix(p) {
			t.Errorf("prefix %q known", p)
		}
	}
	if names := ServiceNames("elasticloadbalancing"); len(names) != 2 {
		t.Errorf("elasticloadbalancing names %v", names)
	}
}

func TestSearchAndSuggest(t *testing.T) {
	got := SearchServices("kinesis")
	if len(got) < 4 || got[0].Prefix != "kinesis" {
		t.Fatalf("search kinesis: %v", got)
	}
	for _, s := range got {
		if !strings.Contains(strings.ToLower(s.Name), "kinesis") && !strings.Contains(s.Prefix, "kinesis") {
			t.Fatalf("search kinesis returned %v", s)
		}
	}
	if got := SearchServices("QUICKSIGHT"); len(got) != 1 || got[0].Prefix != "quicksight" {
		t.Fatalf("search QUICKSIGHT: %v", got)
	}
	if got := SearchServices("no such service at all"); len(got) != 0 {
		t.Fatalf("search nonsense: %v", got)
	}
	if n := len(SearchServices("")); n != len(Services()) {
		t.Fatalf("empty search returned %d", n)
	}
	for in, want := range map[string]string{"stz": "sts", "s4": "s3", "sso-oath": "sso-oauth", "quiksight": "quicksight", "zzzzzzzz": ""} {
		if got := SuggestPrefix(in); got != want {
			t.Errorf("SuggestPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "abc", 0}, {"abc", "abd", 1}, {"abc", "ab", 1}, {"kitten", "sitting", 3}, {"a", "bcdef", 3}} {
		if got := editDistance(c.a, c.b, 3); got != min(c.want, 3) {
			t.Errorf("editDistance(%q,%q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
