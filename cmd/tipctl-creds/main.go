// Command tipctl-creds is the fast path of tipctl's credential_process:
//
//	credential_process = tipctl-creds auth get-iam-credentials --profile P
//	credential_process = tipctl-creds s3ag get-data-access s3://b/p/ --permission READ --profile P
//
// It takes the same arguments as tipctl. When the encrypted store holds
// fresh credentials for the request (more than 15 minutes left) it prints
// them and exits; in every other case (a miss, a refresh, an error, any
// other command or flag) it replaces itself with tipctl, which does the
// work and reports problems. It links none of the sandbox, the QuickSight
// renderers or the administrator SDKs, so it starts in a few milliseconds
// where the full tipctl binary needs three times as long.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/tipctl/tipctl/tip/config"
	"github.com/tipctl/tipctl/tip/s3ag"
	"github.com/tipctl/tipctl/tip/session"
	"github.com/tipctl/tipctl/tip/store"
)

func main() {
	args := os.Args[1:]
	if out := fast(args); out != nil {
		if _, err := os.Stdout.Write(out); err == nil {
			os.Exit(0)
		}
	}
	full, err := fullBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tipctl-creds: "+err.Error())
		os.Exit(1)
	}
	if err := execTipctl(full, args); err != nil {
		fmt.Fprintf(os.Stderr, "tipctl-creds: cannot run %s: %v\n", full, err)
		os.Exit(1)
	}
}

// fullBinary finds tipctl next to this binary, else on PATH.
func fullBinary() (string, error) {
	name := "tipctl"
	if filepath.Ext(os.Args[0]) == ".exe" {
		name += ".exe"
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("tipctl is neither next to tipctl-creds nor on PATH; install both (go install ./cmd/tipctl ./cmd/tipctl-creds)")
	}
	return p, nil
}

// request is a parsed fast-path command line.
type request struct {
	s3ag    bool
	profile string
	s3      s3ag.Request
}

// parse accepts exactly the two credential_process commands with the
// flags that do not change their output; anything else returns false.
func parse(args []string) (request, bool) {
	var r request
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(a, "=")
		if !strings.HasPrefix(a, "-") {
			pos = append(pos, a)
			continue
		}
		if strings.HasPrefix(a, "-p") && !strings.HasPrefix(a, "--") && len(a) > 2 {
			name, val, hasVal = "-p", a[2:], true
		}
		var dst *string
		var n int32
		switch name {
		case "--profile", "-p":
			dst = &r.profile
		case "--permission":
			dst = &r.s3.Permission
		case "--privilege":
			dst = &r.s3.Privilege
		case "--target-type":
			dst = &r.s3.TargetType
		case "--account-id":
			dst = &r.s3.AccountID
		case "--duration-seconds":
			var s string
			if !hasVal {
				if i+1 >= len(args) {
					return r, false
				}
				i++
				s = args[i]
			} else {
				s = val
			}
			if _, err := fmt.Sscanf(s, "%d", &n); err != nil || fmt.Sprint(n) != s {
				return r, false
			}
			r.s3.DurationSeconds = n
			continue
		default:
			return r, false
		}
		if !hasVal {
			if i+1 >= len(args) {
				return r, false
			}
			i++
			val = args[i]
		}
		*dst = val
	}
	switch {
	case len(pos) == 2 && pos[0] == "auth" && pos[1] == "get-iam-credentials" && r.s3 == (s3ag.Request{}):
		return r, true
	case len(pos) == 3 && pos[0] == "s3ag" && pos[1] == "get-data-access":
		r.s3ag, r.s3.Target = true, pos[2]
		return r, true
	}
	return r, false
}

// fast answers from the store, or returns nil.
func fast(args []string) []byte {
	r, ok := parse(args)
	if !ok {
		return nil
	}
	cfg, err := config.Load()
	if err != nil {
		return nil
	}
	p, err := cfg.Get(config.Select(r.profile))
	if err != nil {
		return nil
	}
	v, err := store.Open(store.Options{})
	if err != nil {
		return nil
	}
	m := &session.Manager{Profile: p, Vault: v}
	var doc session.ProcessJSON
	if r.s3ag {
		c, err := s3ag.Cached(m, r.s3)
		if err != nil || c == nil {
			return nil
		}
		doc = c.Process()
	} else {
		c, err := m.Fresh()
		if err != nil || c == nil {
			return nil
		}
		doc = c.Process()
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil
	}
	return append(b, '\n')
}
