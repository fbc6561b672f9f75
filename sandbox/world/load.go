package world

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the default world as YAML, with its ${endpoint}
// placeholders intact, ready to copy and edit.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// Default loads the embedded default world for a sandbox at endpoint.
func Default(endpoint string) (*World, error) {
	return Load(defaultYAML, "default world", endpoint)
}

// LoadFile reads and loads a world file.
func LoadFile(path, endpoint string) (*World, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("world file: %w", err)
	}
	return Load(b, path, endpoint)
}

// Problem is one error in a world file.
type Problem struct {
	Line int
	Path string
	Msg  string
}

// Error lists every problem found in a world file.
type Error struct {
	Source   string
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(e.Source)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
		if p.Path != "" {
			b.WriteString(p.Path + ": ")
		}
		b.WriteString(p.Msg)
	}
	return b.String()
}

// Placeholders returns the substitutions applied to a world file for a sandbox
// listening at endpoint (http://HOST:PORT).
func Placeholders(endpoint string) map[string]string {
	host := strings.TrimPrefix(strings.TrimPrefix(endpoint, "http://"), "https://")
	return map[string]string{"${endpoint}": endpoint, "${endpoint_host}": host}
}

// Load decodes, completes and validates a world. endpoint replaces the
// ${endpoint} (http://HOST:PORT) and ${endpoint_host} (HOST:PORT) placeholders.
func Load(data []byte, source, endpoint string) (*World, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(source, err)
	}
	if len(root.Content) == 0 {
		return nil, &Error{Source: source, Problems: []Problem{{Msg: "the world file is empty"}}}
	}
	// Unknown fields and wrong types are found on the file as written, so
	// that their line numbers are the file's.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&World{}); err != nil {
		return nil, yamlError(source, err)
	}
	// The placeholders are replaced in the parsed tree, not in the text: an
	// endpoint such as http://[::1]:4577 would otherwise change the YAML
	// structure (a plain scalar starting with '[' is a flow sequence).
	substitute(&root, Placeholders(endpoint))
	w := &World{}
	if err := root.Decode(w); err != nil {
		return nil, yamlError(source, err)
	}
	w.Endpoint = endpoint
	w.Source = source
	pos := positions{}
	pos.walk("", root.Content[0])
	w.complete()
	if probs := w.validate(); len(probs) > 0 {
		for i := range probs {
			probs[i].Line = pos.line(probs[i].Path)
		}
		sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
		return nil, &Error{Source: source, Problems: probs}
	}
	return w, nil
}

// yamlError turns a yaml.v3 error ("yaml: line 3: ...") into an Error.
func yamlError(source string, err error) error {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	e := &Error{Source: source}
	for _, m := range msgs {
		m = strings.TrimPrefix(m, "yaml: ")
		line := 0
		if strings.HasPrefix(m, "line ") {
			rest := m[len("line "):]
			if i := strings.Index(rest, ":"); i > 0 {
				if n, err := strconv.Atoi(rest[:i]); err == nil {
					line = n
					m = strings.TrimSpace(rest[i+1:])
				}
			}
		}
		e.Problems = append(e.Problems, Problem{Line: line, Msg: m})
	}
	return e
}

// positions maps a field path such as "iam.roles[1].name" to its line.
type positions map[string]int

func (p positions) walk(path string, n *yaml.Node) {
	p[path] = n.Line
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			child := k
			if path != "" {
				child = path + "." + k
			}
			p[child] = n.Content[i].Line
			p.walkValue(child, n.Content[i+1])
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p.walk(fmt.Sprintf("%s[%d]", path, i), c)
		}
	}
}

func (p positions) walkValue(path string, n *yaml.Node) {
	line := p[path]
	p.walk(path, n)
	p[path] = line // a field is reported at its key's line
}

// line finds the line of path, or of its nearest ancestor.
func (p positions) line(path string) int {
	for path != "" {
		if l, ok := p[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// substitute replaces the placeholders in every scalar of n, keys included.
func substitute(n *yaml.Node, repl map[string]string) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		for k, v := range repl {
			n.Value = strings.ReplaceAll(n.Value, k, v)
		}
	}
	for _, c := range n.Content {
		substitute(c, repl)
	}
}
