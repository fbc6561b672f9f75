// Package setup writes and checks the AWS side of trusted identity
// propagation: a CloudFormation template for the OIDC provider, the bridge
// role and the identity-enhanced role; the OIDC provider thumbprint; the
// AWS CLI profile snippet; an embedded catalog of AWS services and their
// IAM action prefixes; and a linter for IAM policies that knows the
// mistakes that break the chain.
package setup

import (
	_ "embed"
	"encoding/json"
	"sort"
	"strings"
	"sync"

	"github.com/tipctl/tipctl/tip/setup/iamactions"
)

// SourceReference marks catalog entries that come from the embedded AWS
// Service Authorization Reference (tip/setup/iamactions).
const SourceReference = "authorization-reference"

// Service is an AWS service and the prefix of its IAM actions.
type Service struct {
	Name   string `json:"name"`
	Prefix string `json:"prefix"`
	// Source is "seed" (the published list tipctl ships) or "tipctl"
	// (services that trusted identity propagation uses and the list predates).
	Source string `json:"source"`
}

//go:embed services.json
var servicesJSON []byte

var catalog struct {
	once     sync.Once
	services []Service
	prefixes map[string][]string // prefix → service names
}

func load() {
	catalog.once.Do(func() {
		var doc struct {
			Services []Service `json:"services"`
		}
		if err := json.Unmarshal(servicesJSON, &doc); err != nil {
			panic("setup: embedded services.json is invalid: " + err.Error())
		}
		catalog.services = doc.Services
		catalog.prefixes = map[string][]string{}
		for _, s := range doc.Services {
			catalog.prefixes[s.Prefix] = append(catalog.prefixes[s.Prefix], s.Name)
		}
		// Every service of the Service Authorization Reference that the
		// list above lacks (kafka-cluster, datazone, bedrock, ...).
		for _, s := range iamactions.Services() {
			if _, ok := catalog.prefixes[s.Prefix]; !ok {
				catalog.services = append(catalog.services, Service{Name: s.Name, Prefix: s.Prefix, Source: SourceReference})
				catalog.prefixes[s.Prefix] = []string{s.Name}
			}
		}
	})
}

// Services returns the catalog, sorted by name.
func Services() []Service {
	load()
	out := append([]Service(nil), catalog.services...)
	sort.SliceStable(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

// SearchServices returns the services whose name or prefix contains text
// (case-insensitive); all of them when text is empty. Exact prefix matches
// come first.
func SearchServices(text string) []Service {
	all := Services()
	q := strings.ToLower(strings.TrimSpace(text))
	if q == "" {
		return all
	}
	var exact, rest []Service
	for _, s := range all {
		switch {
		case s.Prefix == q:
			exact = append(exact, s)
		case strings.Contains(strings.ToLower(s.Name), q) || strings.Contains(s.Prefix, q):
			rest = append(rest, s)
		}
	}
	return append(exact, rest...)
}

// KnownPrefix reports whether p is the IAM action prefix of a service in
// the catalog. IAM prefixes are case-insensitive.
func KnownPrefix(p string) bool {
	load()
	_, ok := catalog.prefixes[strings.ToLower(p)]
	return ok
}

// ServiceNames returns the names of the services with prefix p.
func ServiceNames(p string) []string {
	load()
	return append([]string(nil), catalog.prefixes[strings.ToLower(p)]...)
}

// SuggestPrefix returns the known prefix closest to p (edit distance at
// most 2), or "".
func SuggestPrefix(p string) string {
	load()
	p = strings.ToLower(p)
	best, bestD := "", 3
	for known := range catalog.prefixes {
		if d := editDistance(p, known, 3); d < bestD || (d == bestD && d < 3 && known < best) {
			best, bestD = known, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or limit when it
// is at least limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}
