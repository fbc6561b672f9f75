package qbusiness

import (
	"reflect"
	"testing"

	"github.com/tipctl/tipctl/sandbox/world"
)

// TestForbiddenDocumentsDoNotInfluence: removing every document a person
// may not see changes none of their answers, so forbidden documents
// weigh neither in the ranking nor in its statistics.
func TestForbiddenDocumentsDoNotInfluence(t *testing.T) {
	w, err := world.Load(world.DefaultYAML(), "default.yaml", "http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	full := &Application{Documents: w.QBusiness.Applications[0].Documents}
	questions := []string{"What is the discount policy?", "How big is the Q3 pipeline in Japan and Germany?",
		"Which companies are on the acquisition shortlist?", "merger", "rebate April Tokyo", "quota rise percent"}
	for _, pr := range []Person{{User: "alice", Groups: []string{"emea-sales", "analysts"}}, {User: "bob", Groups: []string{"apac-sales"}},
		{User: "carol", Groups: []string{"exec-global"}}, {User: "nobody"}} {
		own := &Application{}
		for _, d := range full.Documents {
			if pr.Allows(d) {
				own.Documents = append(own.Documents, d)
			}
		}
		for _, q := range questions {
			a1, s1 := full.Answer(pr, q)
			a2, s2 := own.Answer(pr, q)
			if a1 != a2 || !reflect.DeepEqual(s1, s2) {
				t.Errorf("%s %q: the answer changes with forbidden documents in the index", pr.User, q)
			}
			if len(own.Documents) == 0 && a1 != NoAnswer {
				t.Errorf("%s sees no document but got %q", pr.User, a1)
			}
		}
	}
}
