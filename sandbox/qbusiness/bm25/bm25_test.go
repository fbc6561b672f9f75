package bm25

import (
	"math"
	"reflect"
	"testing"
)

func TestTokenize(t *testing.T) {
	got := Tokenize("What is Carol's EMEA discount-policy for Q3? The 12 percent!")
	want := []string{"carol", "emea", "discount", "policy", "q3", "12", "percent"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Tokenize = %q, want %q", got, want)
	}
	if got := Tokenize("Discounts quotas class status analysis"); !reflect.DeepEqual(got, []string{"discount", "quota", "class", "status", "analysis"}) {
		t.Fatalf("plural folding: %q", got)
	}
	if got := Tokenize("the of and ... !!"); len(got) != 0 {
		t.Fatalf("stopwords and punctuation only: got %q", got)
	}
}

// TestScoreByHand checks the formula against a hand computation.
func TestScoreByHand(t *testing.T) {
	ix := New([]string{"apple apple banana", "banana cherry", "cherry date elderberry fig"})
	// N=3, df(apple)=1: idf = ln(1 + (3-1+0.5)/(1+0.5)) = ln(1+5/3)
	idf := math.Log(1 + 2.5/1.5)
	if d := ix.IDF("apple") - idf; math.Abs(d) > 1e-12 {
		t.Fatalf("IDF(apple) = %v, want %v", ix.IDF("apple"), idf)
	}
	avgdl := 9.0 / 3
	norm := K1 * (1 - B + B*3/avgdl)
	want := idf * 2 * (K1 + 1) / (2 + norm)
	if got := ix.Score(0, []string{"apple"}); math.Abs(got-want) > 1e-12 {
		t.Fatalf("Score = %v, want %v", got, want)
	}
	if got := ix.Score(1, []string{"apple"}); got != 0 {
		t.Fatalf("a passage without the term scores %v, want 0", got)
	}
}

func TestRank(t *testing.T) {
	ix := New([]string{
		"The Tokyo distributor rebate is paid in April.",
		"Discounts in EMEA need the deal desk.",
		"The rebate for resellers in Dublin.",
	})
	hits := ix.Rank("When is the Tokyo rebate paid?")
	if len(hits) != 2 || hits[0].Passage != 0 || hits[1].Passage != 2 {
		t.Fatalf("Rank = %+v, want passage 0 then 2", hits)
	}
	if hits[0].Score <= hits[1].Score {
		t.Fatalf("scores not descending: %+v", hits)
	}
	if hits := ix.Rank("quantum chromodynamics"); len(hits) != 0 {
		t.Fatalf("unrelated query matched %+v", hits)
	}
	if hits := New(nil).Rank("anything"); len(hits) != 0 {
		t.Fatalf("empty index matched %+v", hits)
	}
}

// TestLengthNormalisation: with equal term frequency, the shorter passage
// ranks first (b > 0).
func TestLengthNormalisation(t *testing.T) {
	ix := New([]string{"merger alpha beta gamma delta epsilon zeta", "merger plan"})
	hits := ix.Rank("merger")
	if len(hits) != 2 || hits[0].Passage != 1 {
		t.Fatalf("Rank = %+v, want the short passage first", hits)
	}
}
