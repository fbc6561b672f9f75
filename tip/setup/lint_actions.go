package setup

import (
	"fmt"
	"strings"

	"github.com/tipctl/tipctl/tip/setup/iamactions"
)

// CodeUnknownAction: the action's name is not an action of its service
// (a typo such as s3:GetObjekt), per the AWS Service Authorization
// Reference.
const CodeUnknownAction = "unknown-action"

// actionName checks the name part of an action whose prefix is known.
func (l *linter) actionName(st *statement, action, prefix string) {
	name := action[len(prefix)+1:]
	if !iamactions.HasPrefix(prefix) || iamactions.Matches(prefix, name) {
		return
	}
	fix := "check the name in the Service Authorization Reference for " + prefix
	if s := iamactions.Suggest(prefix, name); len(s) > 0 && !strings.ContainsAny(name, "*?") {
		for i := range s {
			s[i] = prefix + ":" + s[i]
		}
		fix = "did you mean " + strings.Join(s, " or ") + "?"
	}
	what := "is not an action of"
	if strings.ContainsAny(name, "*?") {
		what = "matches no action of"
	}
	l.add(SeverityError, CodeUnknownAction, st, fix, "%s", fmt.Sprintf("action %q %s %s", action, what, prefix))
}
