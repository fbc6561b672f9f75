package s3

import (
	"sort"
	"unicode/utf8"

	"github.com/tipctl/tipctl/sandbox/world"
)

// Snapshot returns the buckets and their objects as a world declares them,
// for exporting the live state. A world file holds object bodies as text,
// so objects whose body is not UTF-8 are left out; skipped counts them.
func (s *Store) Snapshot() (buckets []world.Bucket, skipped int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.buckets))
	for n := range s.buckets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b := world.Bucket{Name: n}
		keys := make([]string, 0, len(s.buckets[n].objects))
		for k := range s.buckets[n].objects {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			o := s.buckets[n].objects[k]
			if !utf8.Valid(o.Body) {
				skipped++
				continue
			}
			b.Objects = append(b.Objects, world.Object{Key: k, ContentType: o.ContentType, Content: string(o.Body)})
		}
		buckets = append(buckets, b)
	}
	return buckets, skipped
}
