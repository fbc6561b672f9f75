package quicksight

import (
	"fmt"
	"sort"
	"strings"
)

func sprintf(format string, a ...any) string {
	if len(a) == 0 {
		return format
	}
	return fmt.Sprintf(format, a...)
}

// Suggest returns up to three candidates close to s: same text in another
// case, a prefix or substring match, or a few typos away. Best first.
func Suggest(s string, candidates []string) []string {
	want := strings.ToLower(strings.TrimSpace(s))
	if want == "" {
		return nil
	}
	type scored struct {
		c string
		d int
	}
	var list []scored
	seen := map[string]bool{}
	for _, c := range candidates {
		if c == "" || seen[c] {
			continue
		}
		seen[c] = true
		lc := strings.ToLower(c)
		d := levenshtein(want, lc)
		switch {
		case lc == want:
			d = 0
		case strings.HasPrefix(lc, want) || strings.HasPrefix(want, lc):
			d = min(d, 1)
		case len(want) >= 3 && strings.Contains(lc, want):
			d = min(d, 2)
		}
		limit := max(2, len(want)/3)
		if d <= limit {
			list = append(list, scored{c, d})
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].d < list[j].d })
	out := []string{}
	for i := 0; i < len(list) && i < 3; i++ {
		out = append(out, list[i].c)
	}
	return out
}

// didYouMean is "; did you mean X?" for close candidates, else the list of
// all candidates when it is short ("; known: a, b, c"), else "".
func didYouMean(s string, candidates []string) string {
	if sug := Suggest(s, candidates); len(sug) > 0 {
		return "; did you mean " + quoteList(sug, "or") + "?"
	}
	if len(candidates) > 0 && len(candidates) <= 12 {
		return "; known: " + strings.Join(candidates, ", ")
	}
	return ""
}

func quoteList(items []string, conj string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	switch len(q) {
	case 0:
		return ""
	case 1:
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " " + conj + " " + q[len(q)-1]
}

// levenshtein is the edit distance between a and b (runes), capped so that
// long inputs stay cheap.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 128 || len(rb) > 128 {
		if a == b {
			return 0
		}
		return 1 << 10
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
