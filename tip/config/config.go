// Package config holds tipctl's profiles: where the files live (TIPCTL_HOME
// or the XDG directories), the Profile model with provider presets for Okta,
// Entra ID, Cognito, any OIDC issuer and the sandbox, strict validation with
// precise messages, and the config.yaml file itself (written atomically,
// 0600 in a 0700 directory).
//
// config.yaml never holds secrets: a confidential client's secret is kept in
// tip/store and referenced by Profile.ClientSecretRef. The only exception is
// the sandbox's public admin test keys (test/test), allowed in sandbox
// profiles only.
//
// Typical use by a command:
//
//	cfg, err := config.Load()
//	...
//	p, err := cfg.Get(config.Select(profileFlag)) // *ProfileError if missing/invalid
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tipctl/tipctl/internal/lazyre"
)

// DefaultProfile is the profile used when neither --profile nor
// TIPCTL_PROFILE says otherwise.
const DefaultProfile = "default"

// FileVersion is the config.yaml format version this package writes.
const FileVersion = 1

// Select returns the effective profile name: flagValue (the --profile
// flag) when set, else $TIPCTL_PROFILE, else "default".
func Select(flagValue string) string {
	if v := strings.TrimSpace(flagValue); v != "" {
		return v
	}
	if v := strings.TrimSpace(os.Getenv(EnvProfile)); v != "" {
		return v
	}
	return DefaultProfile
}

// Config is the content of config.yaml. The zero value is not usable; get
// one from Load or LoadFile. A Config is not safe for concurrent mutation.
type Config struct {
	path     string
	exists   bool
	profiles map[string]*Profile
}

type fileModel struct {
	Version  int                 `yaml:"version"`
	Profiles map[string]*Profile `yaml:"profiles"`
}

// Errors matched with errors.Is.
var (
	// ErrProfileNotFound: the selected profile is not in config.yaml.
	ErrProfileNotFound = errors.New("profile not found")
	// ErrProfileInvalid: the profile exists but fails validation.
	ErrProfileInvalid = errors.New("profile invalid")
)

// ProfileError reports a missing or invalid profile. Its message names the
// profile, the file and the command that fixes it. For an invalid profile
// Err is the *ValidationError.
type ProfileError struct {
	Name  string
	Path  string
	Known []string // profiles that do exist (for "not found")
	Err   error    // nil when not found
}

func (e *ProfileError) Error() string {
	fix := fmt.Sprintf("`tipctl configure idp --profile %s`", e.Name)
	if e.Err == nil {
		var b strings.Builder
		fmt.Fprintf(&b, "profile %q not found in %s; run %s to create it", e.Name, e.Path, fix)
		if len(e.Known) > 0 {
			fmt.Fprintf(&b, ", or pick one of %s (`tipctl configure list`) with --profile or %s", strings.Join(e.Known, ", "), EnvProfile)
		} else {
			b.WriteString(" (no profiles are configured yet)")
		}
		return b.String()
	}
	var ve *ValidationError
	if errors.As(e.Err, &ve) {
		var b strings.Builder
		fmt.Fprintf(&b, "profile %q in %s is invalid:", e.Name, e.Path)
		for _, p := range ve.Problems {
			b.WriteString("\n  - " + p.String())
		}
		fmt.Fprintf(&b, "\nfix it with %s or edit %s", fix, e.Path)
		return b.String()
	}
	return fmt.Sprintf("profile %q in %s: %v; fix it with %s", e.Name, e.Path, e.Err, fix)
}

// Unwrap returns the validation error, if any.
func (e *ProfileError) Unwrap() error { return e.Err }

// Is matches ErrProfileNotFound or ErrProfileInvalid.
func (e *ProfileError) Is(target error) bool {
	switch target {
	case ErrProfileNotFound:
		return e.Err == nil
	case ErrProfileInvalid:
		return e.Err != nil
	}
	return false
}

// FileError reports an unreadable or malformed config.yaml. Line is the
// first offending line (0 when unknown).
type FileError struct {
	Path     string
	Line     int
	Problems []string // "line N: what is wrong"
	Err      error    // underlying I/O error, if any
}

func (e *FileError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("cannot read tipctl config %s: %v", e.Path, e.Err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "tipctl config %s is malformed:", e.Path)
	if len(e.Problems) == 1 {
		b.WriteString(" " + e.Problems[0])
	} else {
		for _, p := range e.Problems {
			b.WriteString("\n  - " + p)
		}
	}
	fmt.Fprintf(&b, "\nfix the file, or move it away and run `tipctl configure idp` to start over")
	return b.String()
}

// Unwrap returns the I/O error, if any.
func (e *FileError) Unwrap() error { return e.Err }

// Load reads config.yaml from the location given by Paths. A missing file is
// not an error: the Config is empty and Save creates it.
func Load() (*Config, error) {
	d, err := Paths()
	if err != nil {
		return nil, err
	}
	return LoadFile(d.ConfigFile())
}

// LoadFile reads the config file at path (see Load). Unknown keys, wrong
// types, duplicate profiles and syntax errors yield a *FileError naming the
// path and line.
func LoadFile(path string) (*Config, error) {
	c := &Config{path: path, profiles: map[string]*Profile{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	c.exists = true
	if err := c.parse(data); err != nil {
		return nil, err
	}
	return c, nil
}

var (
	yamlLineRE    = lazyre.New(`line (\d+)`)
	yamlFieldRE   = lazyre.New(`field (\S+) not found in type config\.(\w+)`)
	yamlTypeRE    = lazyre.New(`cannot unmarshal !!(\w+)(?: ` + "`" + `([^` + "`" + `]*)` + "`" + `)? into (\S+)`)
	yamlGoTypeMap = map[string]string{"int": "a whole number", "string": "a string", "[]string": "a list of strings"}
)

func (c *Config) parse(data []byte) error {
	fe := &FileError{Path: c.path}
	var m fileModel
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(&m)
	if errors.Is(err, io.EOF) {
		return nil // empty file
	}
	if err != nil {
		fe.Problems = yamlProblems(err)
		fe.Line = firstLine(fe.Problems)
		return fe
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		fe.Problems = []string{"more than one YAML document; config.yaml must hold exactly one"}
		return fe
	}
	if m.Version > FileVersion {
		fe.Problems = []string{fmt.Sprintf("version %d was written by a newer tipctl (this one reads version %d); upgrade tipctl", m.Version, FileVersion)}
		return fe
	}
	if m.Version < 0 {
		fe.Problems = []string{fmt.Sprintf("version %d is not valid", m.Version)}
		return fe
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	lines := profileLines(&root)
	for name, p := range m.Profiles {
		if p == nil {
			p = &Profile{}
		}
		p.Name = name
		if l, ok := lines[name]; ok {
			p.line = l.line
			p.lines = l.fields
		}
		c.profiles[name] = p
	}
	return nil
}

func yamlProblems(err error) []string {
	var te *yaml.TypeError
	var raw []string
	if errors.As(err, &te) {
		raw = te.Errors
	} else {
		raw = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	out := make([]string, 0, len(raw))
	for _, s := range raw {
		s = strings.TrimSpace(s)
		s = yamlFieldRE.ReplaceAllStringFunc(s, func(m string) string {
			sm := yamlFieldRE.FindStringSubmatch(m)
			where := "a profile"
			switch sm[2] {
			case "fileModel":
				where = "the top level (known: version, profiles)"
			case "IdPEndpoints":
				where = "idp_endpoints (known: authorization, token, device, revocation, userinfo, jwks, discovery)"
			}
			return fmt.Sprintf("unknown key %q in %s", sm[1], where)
		})
		s = yamlTypeRE.ReplaceAllStringFunc(s, func(m string) string {
			sm := yamlTypeRE.FindStringSubmatch(m)
			want, ok := yamlGoTypeMap[sm[3]]
			if !ok {
				want = "a " + strings.TrimPrefix(sm[3], "config.")
				if strings.HasPrefix(sm[3], "map[") || strings.HasPrefix(sm[3], "config.") || strings.HasPrefix(sm[3], "*config.") {
					want = "a mapping"
				}
			}
			if sm[2] == "" {
				kind, ok := map[string]string{"seq": "list", "map": "mapping"}[sm[1]]
				if !ok {
					kind = sm[1]
				}
				return fmt.Sprintf("a %s should be %s", kind, want)
			}
			return fmt.Sprintf("%q should be %s", sm[2], want)
		})
		out = append(out, s)
	}
	return out
}

func firstLine(problems []string) int {
	for _, p := range problems {
		if m := yamlLineRE.FindStringSubmatch(p); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
	}
	return 0
}

type profLines struct {
	line   int
	fields map[string]int
}

// profileLines maps profile names to the lines of their keys.
func profileLines(root *yaml.Node) map[string]profLines {
	out := map[string]profLines{}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return out
	}
	top := mappingValue(root.Content[0], "profiles")
	if top == nil || top.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		pl := profLines{line: k.Line, fields: map[string]int{}}
		if v.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(v.Content); j += 2 {
				fk, fv := v.Content[j], v.Content[j+1]
				pl.fields[fk.Value] = fk.Line
				if fv.Kind == yaml.MappingNode {
					for x := 0; x+1 < len(fv.Content); x += 2 {
						pl.fields[fk.Value+"."+fv.Content[x].Value] = fv.Content[x].Line
					}
				}
			}
		}
		out[k.Value] = pl
	}
	return out
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// Path is the file this Config was loaded from and saves to.
func (c *Config) Path() string { return c.path }

// Exists reports whether the file existed when loaded.
func (c *Config) Exists() bool { return c.exists }

// Get returns a copy of the named profile after validating it. A missing
// profile yields a *ProfileError matching ErrProfileNotFound; an invalid one
// a *ProfileError matching ErrProfileInvalid that lists every problem with
// its line in config.yaml.
func (c *Config) Get(name string) (*Profile, error) {
	p, ok := c.profiles[name]
	if !ok {
		return nil, &ProfileError{Name: name, Path: c.path, Known: c.Names()}
	}
	if err := p.Validate(); err != nil {
		return nil, &ProfileError{Name: name, Path: c.path, Err: err}
	}
	return p.Clone(), nil
}

// Lookup returns a copy of the named profile without validating it (for
// editing or displaying a profile that may be invalid).
func (c *Config) Lookup(name string) (*Profile, bool) {
	p, ok := c.profiles[name]
	if !ok {
		return nil, false
	}
	return p.Clone(), true
}

// Names returns the profile names, sorted.
func (c *Config) Names() []string {
	names := make([]string, 0, len(c.profiles))
	for n := range c.profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// List returns copies of all profiles sorted by name, valid or not (call
// Validate on each to show its state).
func (c *Config) List() []*Profile {
	out := make([]*Profile, 0, len(c.profiles))
	for _, n := range c.Names() {
		out = append(out, c.profiles[n].Clone())
	}
	return out
}

// Set validates p and adds or replaces the profile named p.Name in memory;
// call Save to write the file.
func (c *Config) Set(p *Profile) error {
	if !ValidProfileName(p.Name) {
		return &ValidationError{Profile: p.Name, Problems: []Problem{{Field: "name", Message: fmt.Sprintf("%q is not a valid profile name (1-64 letters, digits, '.', '_' or '-', starting with a letter or digit)", p.Name)}}}
	}
	q := p.Clone()
	q.lines, q.line = nil, 0
	if err := q.Validate(); err != nil {
		return err
	}
	c.profiles[q.Name] = q
	return nil
}

// Delete removes the named profile in memory (a *ProfileError matching
// ErrProfileNotFound if absent); call Save to write the file. Secrets kept
// for the profile in tip/store are not touched.
func (c *Config) Delete(name string) error {
	if _, ok := c.profiles[name]; !ok {
		return &ProfileError{Name: name, Path: c.path, Known: c.Names()}
	}
	delete(c.profiles, name)
	return nil
}

const fileHeader = `# tipctl configuration (written by tipctl; comments are not preserved).
# No secrets here: client secrets live in the tipctl secret store and are
# referenced with client_secret_ref (store:KEY or env:VAR).
`

// Save writes the file atomically with mode 0600, creating its directory
// with mode 0700 when needed.
func (c *Config) Save() error {
	var buf bytes.Buffer
	buf.WriteString(fileHeader)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	m := fileModel{Version: FileVersion, Profiles: c.profiles}
	if err := enc.Encode(&m); err != nil {
		return fmt.Errorf("encode %s: %w", c.path, err)
	}
	if err := enc.Close(); err != nil {
		return err
	}
	if err := EnsureDir(filepath.Dir(c.path)); err != nil {
		return err
	}
	if err := WriteFileAtomic(c.path, buf.Bytes(), 0o600); err != nil {
		return err
	}
	c.exists = true
	return nil
}
