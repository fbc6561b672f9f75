package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tipctl/tipctl/tip/config"
	"github.com/tipctl/tipctl/tip/idp"
)

// Interactive `configure idp` (C2): each answer is checked as it is given
// (the preset's and the profile's own validation, so ARN shape and kind,
// URLs and client ids are judged as config.yaml would be), and a bad answer
// is asked again with one line saying why. Once an answer fixes the issuer,
// its OpenID discovery document is fetched at once. Every accepted answer
// goes into a draft next to config.yaml, so an interruption, or a profile
// that still fails as a whole, loses nothing: the next run offers to resume.

// errAbandoned: the person ended the prompts (end of input).
var errAbandoned = errors.New("no answer")

// draft is the answers of an unfinished `configure idp`. Profiles hold no
// secrets (a client secret is a reference), so neither does a draft.
type draft struct {
	Provider string            `json:"provider"`
	Values   map[string]string `json:"values"`
	SavedAt  time.Time         `json:"saved_at"`
}

func draftPath(cfg *config.Config, profile string) string {
	return filepath.Join(filepath.Dir(cfg.Path()), "drafts", profile+".json")
}

func loadDraft(path string) *draft {
	b, err := os.ReadFile(path)
	if err != nil || len(b) > 1<<20 {
		return nil
	}
	var d draft
	if json.Unmarshal(b, &d) != nil || len(d.Values) == 0 {
		return nil
	}
	return &d
}

func saveDraft(path string, d *draft) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	return config.WriteFileAtomic(path, b, 0o600)
}

// asker asks for the values of one profile on the terminal.
type asker struct {
	app      *App
	ctx      context.Context
	lines    chan lineRead
	provider string
	values   map[string]string
	hc       *http.Client
	draft    string // path of the draft file
	// optional keys may be left empty (asked again because their value
	// was wrong, not because the profile needs them).
	optional map[string]bool
}

type lineRead struct {
	s   string
	err error
}

func newAsker(ctx context.Context, app *App, provider string, values map[string]string, hc *http.Client, draftFile string) *asker {
	a := &asker{app: app, ctx: ctx, lines: make(chan lineRead), provider: provider, values: values, hc: hc, draft: draftFile}
	r := bufio.NewReader(app.Stdin)
	go func() {
		for {
			s, err := r.ReadString('\n')
			select {
			case a.lines <- lineRead{s, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return a
}

// readLine prints question and returns the trimmed answer; errAbandoned
// at the end of input, the context's error on Ctrl-C.
func (a *asker) readLine(question string) (string, error) {
	fmt.Fprint(a.app.Stderr, question)
	select {
	case <-a.ctx.Done():
		fmt.Fprintln(a.app.Stderr)
		return "", a.ctx.Err()
	case l := <-a.lines:
		s := strings.TrimSpace(l.s)
		if l.err != nil && s == "" {
			fmt.Fprintln(a.app.Stderr)
			if l.err == io.EOF {
				return "", errAbandoned
			}
			return "", l.err
		}
		return s, nil
	}
}

func (a *asker) yes(question string, def bool) (bool, error) {
	s, err := a.readLine(question)
	if err != nil {
		return false, err
	}
	switch strings.ToLower(s) {
	case "":
		return def, nil
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// askAll asks for each missing key in turn.
func (a *asker) askAll(missing []string) error {
	for _, k := range missing {
		if err := a.ask(k); err != nil {
			return err
		}
	}
	return nil
}

// ask asks for key until the answer is valid (and, for the answer that
// sets the issuer, its discovery was found or the person keeps it anyway).
func (a *asker) ask(key string) error {
	def := a.values[key]
	help := config.InputHelp(key)
	for {
		q := fmt.Sprintf("%s (%s): ", key, help)
		if def != "" {
			q = fmt.Sprintf("%s (%s) [%s]: ", key, help, Sanitize(def))
		}
		line, err := a.readLine(q)
		if err != nil {
			return err
		}
		if line == "" {
			line = def
		}
		if line == "" && a.optional[key] {
			return nil
		}
		if line == "" {
			fmt.Fprintf(a.app.Stderr, "  ✗ %s is required\n", key)
			continue
		}
		before := a.build(a.values)
		cand := maps.Clone(a.values)
		cand[key] = line
		after := a.build(cand)
		if msg := newProblem(before, after); msg != "" {
			fmt.Fprintf(a.app.Stderr, "  ✗ %s\n", Sanitize(msg))
			continue
		}
		if iss := after.issuer(); iss != "" && iss != before.issuer() {
			keep, err := a.checkIssuer(after.p)
			if err != nil {
				return err
			}
			if !keep {
				continue
			}
		}
		a.values[key] = line
		if err := saveDraft(a.draft, &draft{Provider: a.provider, Values: a.values, SavedAt: time.Now().UTC()}); err != nil {
			a.app.say("tipctl: warning: the answers could not be kept in %s: %v", a.draft, err)
		}
		return nil
	}
}

// built is BuildProfile's verdict on some values.
type built struct {
	p        *config.Profile
	problems []string
}

func (b built) issuer() string {
	if b.p == nil {
		return ""
	}
	return b.p.Issuer
}

func (a *asker) build(values map[string]string) built {
	p, _, err := config.BuildProfile(a.provider, values)
	var out built
	out.p = p
	var ve *config.ValidationError
	switch {
	case errors.As(err, &ve):
		for _, pr := range ve.Problems {
			out.problems = append(out.problems, pr.Field+": "+pr.Message)
		}
	case err != nil:
		out.problems = append(out.problems, err.Error())
	}
	return out
}

// newProblem returns the first problem of after that before did not have:
// what the new answer broke.
func newProblem(before, after built) string {
	for _, pr := range after.problems {
		known := false
		for _, o := range before.problems {
			known = known || o == pr
		}
		if !known {
			return pr
		}
	}
	return ""
}

// checkIssuer fetches the issuer's discovery document now and says what
// it found; on failure the person may keep the issuer anyway (an IdP not
// reachable from this machine yet).
func (a *asker) checkIssuer(p *config.Profile) (bool, error) {
	ctx, cancel := context.WithTimeout(a.ctx, 15*time.Second)
	defer cancel()
	cfg := idp.Config{Issuer: p.Issuer, ClientID: "tipctl-configure", HTTPClient: a.hc,
		Endpoints: idp.Endpoints{AuthURL: p.IdP.Authorization, TokenURL: p.IdP.Token, DeviceAuthURL: p.IdP.Device,
			RevocationURL: p.IdP.Revocation, UserInfoURL: p.IdP.UserInfo, JWKSURL: p.IdP.JWKS}, DiscoveryURL: p.IdP.Discovery}
	where := strings.TrimSuffix(p.Issuer, "/") + "/.well-known/openid-configuration"
	if p.IdP.Discovery != "" {
		where = p.IdP.Discovery
	}
	fmt.Fprintf(a.app.Stderr, "  checking %s ...\n", Sanitize(where))
	prov, err := idp.Discover(ctx, cfg)
	if err == nil {
		e := prov.Endpoints()
		device := "no device flow"
		if e.DeviceAuthURL != "" {
			device = "device flow"
		}
		fmt.Fprintf(a.app.Stderr, "  ✓ found issuer %s: token endpoint %s, %s\n", Sanitize(p.Issuer), Sanitize(e.TokenURL), device)
		return true, nil
	}
	if a.ctx.Err() != nil {
		return false, a.ctx.Err()
	}
	fmt.Fprintf(a.app.Stderr, "  ✗ %s\n", Sanitize(oneLine(err.Error())))
	return a.yes(fmt.Sprintf("keep the issuer %s anyway? [y/N]: ", Sanitize(p.Issuer)), false)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

// offerDraft offers the answers of an unfinished run for this profile;
// values given with --config win over them. It returns the provider.
func (a *asker) offerDraft(provider string, given map[string]string) (string, error) {
	d := loadDraft(a.draft)
	if d == nil || provider != "" && !strings.EqualFold(d.Provider, provider) {
		return provider, nil
	}
	keys := slices.Sorted(maps.Keys(d.Values))
	ok, err := a.yes(fmt.Sprintf("resume the answers you gave on %s (%s)? [Y/n]: ",
		d.SavedAt.Local().Format(time.DateTime), Sanitize(strings.Join(keys, ", "))), true)
	if err != nil {
		return provider, err
	}
	if !ok {
		if err := os.Remove(a.draft); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return provider, err
		}
		return provider, nil
	}
	for k, v := range d.Values {
		if _, g := given[k]; !g {
			a.values[k] = v
		}
	}
	return d.Provider, nil
}

// reaskBad finds the values behind the problems of err (a value is behind
// a problem when leaving it out makes the problem go away), says each
// problem in one line, and returns them to be asked again ahead of the
// missing ones. A problem that no single value explains is returned as is.
func (a *asker) reaskBad(provider string, err error, missing []string) ([]string, error) {
	var ve *config.ValidationError
	if !errors.As(err, &ve) {
		return missing, err
	}
	a.provider = provider
	all := a.build(a.values)
	var bad []string
	explained := map[string]bool{}
	for _, k := range slices.Sorted(maps.Keys(a.values)) {
		cand := maps.Clone(a.values)
		delete(cand, k)
		without := a.build(cand)
		for _, pr := range all.problems {
			if !slices.Contains(without.problems, pr) && !explained[pr] {
				explained[pr] = true
				if !slices.Contains(bad, k) {
					bad = append(bad, k)
				}
			}
		}
	}
	if len(explained) < len(all.problems) {
		return missing, err
	}
	for _, pr := range all.problems {
		fmt.Fprintf(a.app.Stderr, "  ✗ %s\n", Sanitize(pr))
	}
	for _, k := range bad {
		delete(a.values, k)
	}
	_, nowMissing, err := config.BuildProfile(provider, a.values)
	if err != nil {
		return missing, err
	}
	out := slices.Clone(bad)
	for _, k := range nowMissing {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	if a.optional == nil {
		a.optional = map[string]bool{}
	}
	for _, k := range bad {
		a.optional[k] = !slices.Contains(nowMissing, k)
	}
	return out, nil
}

// unfinished is the error of prompts that ended early: the accepted
// answers are in the draft, which the next run offers.
func (a *asker) unfinished(name string, err error) error {
	if a.ctx.Err() != nil {
		return a.ctx.Err() // Ctrl-C: exit 130; the draft is kept all the same
	}
	if errors.Is(err, errAbandoned) {
		if _, serr := os.Stat(a.draft); serr == nil {
			return Errorf(ExitConfig, "run `tipctl configure idp -p "+name+"` again to resume", "profile %q not saved: the input ended before every value was given; your answers are kept in %s", name, a.draft)
		}
		return Errorf(ExitConfig, "run `tipctl configure idp -p "+name+"` again", "profile %q not saved: the input ended before every value was given", name)
	}
	return err
}
