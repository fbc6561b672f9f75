package config

import (
	"path/filepath"
	"testing"
)

func BenchmarkLoadAndGet(b *testing.B) {
	path := filepath.Join(b.TempDir(), "config.yaml")
	cfg, _ := LoadFile(path)
	for _, n := range []string{"default", "work", "ci"} {
		p, _, _ := BuildProfile("sandbox", map[string]string{"endpoint_url": "http://127.0.0.1:4566"})
		p.Name = n
		cfg.Set(p)
	}
	cfg.Save()
	for b.Loop() {
		c, err := LoadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Get("work"); err != nil {
			b.Fatal(err)
		}
	}
}
