// Package bm25 ranks short passages for a query with Okapi BM25
// (k1 = 1.2, b = 0.75), the ranking the sandbox's Q Business retrieval
// emulator uses.
package bm25

import (
	"math"
	"sort"
	"strings"
	"unicode"
)

// Parameters of the ranking.
const (
	K1 = 1.2
	B  = 0.75
)

// stopwords are frequent English words that carry no topic; they neither
// match nor count towards a passage's length.
var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an and are as at be by can do does for from has have how i in is it its
		me my of on or our should so than that the their them there these they this to up was we what when
		where which who why will with you your`) {
		stopwords[w] = true
	}
}

// Tokenize lower-cases text and splits it into terms of letters and digits
// (an apostrophe's tail is dropped: "carol's" is "carol"), without
// stopwords, and folds a plain plural onto its singular ("discounts" is
// "discount"; "ss", "us" and "is" endings are kept).
func Tokenize(text string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '’'
	}) {
		f, _, _ = strings.Cut(strings.ReplaceAll(f, "’", "'"), "'")
		if f != "" && !stopwords[f] {
			out = append(out, singular(f))
		}
	}
	return out
}

// Index holds the term statistics of a set of passages.
type Index struct {
	tf    []map[string]int
	len   []int
	df    map[string]int
	avgdl float64
}

// New indexes passages; the statistics (document frequencies, average
// length) come from these passages alone.
func New(passages []string) *Index {
	ix := &Index{df: map[string]int{}}
	total := 0
	for _, p := range passages {
		terms := Tokenize(p)
		tf := map[string]int{}
		for _, t := range terms {
			if tf[t] == 0 {
				ix.df[t]++
			}
			tf[t]++
		}
		ix.tf = append(ix.tf, tf)
		ix.len = append(ix.len, len(terms))
		total += len(terms)
	}
	if len(passages) > 0 {
		ix.avgdl = float64(total) / float64(len(passages))
	}
	return ix
}

// IDF is the inverse document frequency of a term, in the non-negative
// form ln(1 + (N - n + 0.5) / (n + 0.5)).
func (ix *Index) IDF(term string) float64 {
	n, N := float64(ix.df[term]), float64(len(ix.tf))
	return math.Log(1 + (N-n+0.5)/(n+0.5))
}

// Score is passage i's BM25 score for the query's terms (a repeated query
// term counts each time).
func (ix *Index) Score(i int, query []string) float64 {
	if ix.avgdl == 0 {
		return 0
	}
	s := 0.0
	norm := K1 * (1 - B + B*float64(ix.len[i])/ix.avgdl)
	for _, q := range query {
		f := float64(ix.tf[i][q])
		if f == 0 {
			continue
		}
		s += ix.IDF(q) * f * (K1 + 1) / (f + norm)
	}
	return s
}

// Hit is a passage and its score.
type Hit struct {
	Passage int
	Score   float64
}

// Rank scores every passage for query and returns those with a positive
// score, best first (ties keep passage order).
func (ix *Index) Rank(query string) []Hit {
	q := Tokenize(query)
	var hits []Hit
	for i := range ix.tf {
		if s := ix.Score(i, q); s > 0 {
			hits = append(hits, Hit{Passage: i, Score: s})
		}
	}
	sort.SliceStable(hits, func(a, b int) bool { return hits[a].Score > hits[b].Score })
	return hits
}

func singular(w string) string {
	if len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is") {
		return w[:len(w)-1]
	}
	return w
}
