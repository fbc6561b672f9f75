package world

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Clone returns a deep copy of w (through its YAML form), to change and
// Check before it replaces the live world.
func (w *World) Clone() (*World, error) {
	b, err := yaml.Marshal(w)
	if err != nil {
		return nil, err
	}
	c := &World{}
	if err := yaml.Unmarshal(b, c); err != nil {
		return nil, err
	}
	c.Endpoint, c.Source = w.Endpoint, w.Source
	return c, nil
}

// Check completes the derived identifiers of a changed world and validates
// it; the error lists every problem.
func (w *World) Check() error {
	w.complete()
	if probs := w.validate(); len(probs) > 0 {
		sort.SliceStable(probs, func(i, j int) bool { return probs[i].Path < probs[j].Path })
		return &Error{Source: "the changed world", Problems: probs}
	}
	return nil
}

// Export writes w as a world file that Load reads back: the sandbox's own
// endpoint becomes the ${endpoint} and ${endpoint_host} placeholders again,
// so the file works on any port.
func (w *World) Export() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("# A tipctl sandbox world exported from the live state.\n")
	buf.WriteString("# Start a sandbox with it: tipctl sandbox --world FILE\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(w); err != nil {
		return nil, fmt.Errorf("export world: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	text := buf.String()
	if w.Endpoint != "" {
		ph := Placeholders(w.Endpoint)
		text = strings.ReplaceAll(text, w.Endpoint, "${endpoint}")
		text = strings.ReplaceAll(text, ph["${endpoint_host}"], "${endpoint_host}")
	}
	return []byte(text), nil
}

// ManagedPolicyArn is the ARN of a customer-managed policy.
func (w *World) ManagedPolicyArn(m ManagedPolicy) string {
	path := m.Path
	if path == "" {
		path = "/"
	}
	return fmt.Sprintf("arn:aws:iam::%s:policy%s%s", w.AccountID, path, m.Name)
}

// User finds an identity-store user by user name.
func (ic *IdentityCenter) User(name string) *IdCUser {
	for i := range ic.Users {
		if ic.Users[i].UserName == name {
			return &ic.Users[i]
		}
	}
	return nil
}

// UserByID finds an identity-store user by id.
func (ic *IdentityCenter) UserByID(id string) *IdCUser {
	for i := range ic.Users {
		if ic.Users[i].UserID == id {
			return &ic.Users[i]
		}
	}
	return nil
}

// GroupByID finds an identity-store group by id.
func (ic *IdentityCenter) GroupByID(id string) *IdCGroup {
	for i := range ic.Groups {
		if ic.Groups[i].GroupID == id {
			return &ic.Groups[i]
		}
	}
	return nil
}

// App finds an application by ARN.
func (ic *IdentityCenter) App(arn string) *Application {
	for i := range ic.Applications {
		if ic.Applications[i].Arn == arn {
			return &ic.Applications[i]
		}
	}
	return nil
}

// Issuer finds a trusted token issuer by ARN.
func (ic *IdentityCenter) Issuer(arn string) *TrustedTokenIssuer {
	for i := range ic.TrustedTokenIssuers {
		if ic.TrustedTokenIssuers[i].Arn == arn {
			return &ic.TrustedTokenIssuers[i]
		}
	}
	return nil
}

// Role finds an IAM role by name.
func (i *IAM) Role(name string) *Role {
	for k := range i.Roles {
		if i.Roles[k].Name == name {
			return &i.Roles[k]
		}
	}
	return nil
}

// Remove deletes the elements of list for which drop is true.
func Remove[T any](list []T, drop func(*T) bool) []T {
	out := list[:0]
	for i := range list {
		if !drop(&list[i]) {
			out = append(out, list[i])
		}
	}
	return out
}

// RandomHex returns n random hex digits, for identifiers the write APIs
// create (AWS's are random too).
func RandomHex(n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)[:n]
}

// RandomUUID returns a random UUID-shaped identifier.
func RandomUUID() string {
	s := RandomHex(32)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// Bare loads the default world without any trust configuration: Identity
// Center is enabled with the IdP's users and groups provisioned, and the
// buckets, objects and QuickSight data exist, but there is no OIDC
// provider, role, trusted token issuer, application, Access Grants
// instance or grant. It is the account `tipctl setup` starts from.
func Bare(endpoint string) (*World, error) {
	w, err := Default(endpoint)
	if err != nil {
		return nil, err
	}
	w.Source = "bare world"
	w.IdentityCenter.TrustedTokenIssuers = nil
	w.IdentityCenter.Applications = nil
	w.IAM.OIDCProviders = nil
	w.IAM.Roles = nil
	w.IAM.ManagedPolicies = nil
	w.S3.AccessGrants = AccessGrants{NoInstance: true, NoIdentityCenter: true}
	w.QuickSight.SnapshotRole = ""
	if err := w.Check(); err != nil {
		return nil, err
	}
	return w, nil
}
