// Package iamactions knows the IAM actions of every AWS service, from an
// embedded copy of the AWS Service Authorization Reference (see
// README.md): which prefixes exist, which action names each has, and the
// closest name to a misspelled one. Only the policy linter and the
// service catalog import it; the credential_process binary does not.
package iamactions

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"sort"
	"strings"
	"sync"

	"github.com/tipctl/tipctl/iampolicy"
)

//go:embed actions.tsv.gz
var actionsGz []byte

// Service is one service prefix of the reference.
type Service struct {
	Prefix string
	Name   string
}

var data struct {
	once     sync.Once
	services []Service
	// actions maps a prefix to its action names, lower case → canonical.
	actions map[string]map[string]string
}

func load() {
	data.once.Do(func() {
		data.actions = map[string]map[string]string{}
		zr, err := gzip.NewReader(bytes.NewReader(actionsGz))
		if err != nil {
			panic("iamactions: embedded data: " + err.Error())
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			f := strings.Split(sc.Text(), "\t")
			if len(f) != 3 {
				continue
			}
			m := data.actions[f[0]]
			if m == nil {
				m = map[string]string{}
				data.actions[f[0]] = m
				data.services = append(data.services, Service{Prefix: f[0], Name: f[1]})
			}
			for _, a := range strings.Split(f[2], ",") {
				if a != "" {
					m[strings.ToLower(a)] = a
				}
			}
		}
		if err := sc.Err(); err != nil {
			panic("iamactions: embedded data: " + err.Error())
		}
	})
}

// Services lists the reference's services, by prefix.
func Services() []Service {
	load()
	out := append([]Service(nil), data.services...)
	sort.Slice(out, func(i, j int) bool { return out[i].Prefix < out[j].Prefix })
	return out
}

// HasPrefix reports whether prefix is a service prefix of the reference.
func HasPrefix(prefix string) bool {
	load()
	_, ok := data.actions[strings.ToLower(prefix)]
	return ok
}

// Matches reports whether the action name (which may hold the IAM
// wildcards * and ?) names at least one action of the service. IAM
// compares action names case-insensitively. An unknown prefix matches
// nothing.
func Matches(prefix, name string) bool {
	load()
	m := data.actions[strings.ToLower(prefix)]
	if m == nil {
		return false
	}
	n := strings.ToLower(name)
	if !strings.ContainsAny(n, "*?") {
		_, ok := m[n]
		return ok
	}
	for a := range m {
		if iampolicy.Wildcard(n, a) {
			return true
		}
	}
	return false
}

// Suggest returns the action names of the service closest to a
// misspelled name (an edit distance of at most 2), best first.
func Suggest(prefix, name string) []string {
	load()
	m := data.actions[strings.ToLower(prefix)]
	n := strings.ToLower(name)
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	for low, canon := range m {
		if d := distance(n, low); d <= 2 {
			cs = append(cs, cand{canon, d})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].d != cs[j].d {
			return cs[i].d < cs[j].d
		}
		return cs[i].name < cs[j].name
	})
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.name)
	}
	return out
}

// distance is the Levenshtein distance of a and b (bytes).
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
