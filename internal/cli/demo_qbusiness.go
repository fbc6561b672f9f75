package cli

import (
	"fmt"
	"strings"

	"github.com/tipctl/tipctl/tip/qbusiness"
)

// The demo's Q Business step: alice asks a question that documents of
// both regions could answer; the answer cites only what her ACLs allow.
func init() { demoSteps = append(demoSteps, (*demo).qbusinessChat) }

// demoQBusinessApp is the default world's Q Business application (seed 002's id).
const demoQBusinessApp = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"

func (d *demo) qbusinessChat() error {
	return d.do("q business", func() (string, error) {
		c, err := qbusiness.Client(d.mgr)
		if err != nil {
			return "", err
		}
		a, err := qbusiness.Chat(d.ctx, c, demoQBusinessApp, "", "What discount may account managers approve?")
		if err != nil {
			return "", err
		}
		if len(a.Sources) == 0 {
			return "", fmt.Errorf("Q Business cited no document for alice")
		}
		var titles []string
		for _, s := range a.Sources {
			if strings.HasPrefix(s.DocumentID, "apac-") {
				return "", fmt.Errorf("alice was shown an APAC document: %s", s.DocumentID)
			}
			titles = append(titles, s.Title)
		}
		return fmt.Sprintf("ChatSync as alice: %q\ncites only what her groups may read: %s (the APAC policy is not among the candidates)",
			truncateDemo(a.Text, 90), strings.Join(titles, "; ")), nil
	})
}

func truncateDemo(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
