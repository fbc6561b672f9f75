package setup

import (
	"bytes"
	"encoding/json"

	"gopkg.in/yaml.v3"
)

// M is a mapping that keeps its key order in YAML and JSON, so that
// generated templates read top-down like hand-written ones.
type M []KV

// KV is one key of an M.
type KV struct {
	K string
	V any
}

// Get returns the value of key k.
func (m M) Get(k string) (any, bool) {
	for _, kv := range m {
		if kv.K == k {
			return kv.V, true
		}
	}
	return nil, false
}

// MarshalYAML writes m as a YAML mapping in order.
func (m M) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, kv := range m {
		var k, v yaml.Node
		if err := k.Encode(kv.K); err != nil {
			return nil, err
		}
		if err := v.Encode(kv.V); err != nil {
			return nil, err
		}
		n.Content = append(n.Content, &k, &v)
	}
	return n, nil
}

// MarshalJSON writes m as a JSON object in order.
func (m M) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(kv.K)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(kv.V)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
