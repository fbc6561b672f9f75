package s3

import (
	"sort"
	"strings"

	"github.com/tipctl/tipctl/sandbox/awsproto"
)

// ListInput selects keys of a bucket, as ListObjects and ListObjectsV2 do.
type ListInput struct {
	Prefix    string
	Delimiter string
	// After lists only keys (and common prefixes) sorting after it: the
	// marker, start-after or the decoded continuation token.
	After   string
	MaxKeys int
}

// ListResult is one page of a listing.
type ListResult struct {
	Objects        []*Object
	CommonPrefixes []string
	Truncated      bool
	// Last is the last key or common prefix of the page, where the next page starts.
	Last string
}

// List returns one page of the bucket's keys in UTF-8 binary order, rolling
// keys that contain Delimiter after Prefix up into common prefixes.
func (s *Store) List(bucket string, in ListInput) (*ListResult, *awsproto.Error) {
	s.mu.RLock()
	b, ok := s.buckets[bucket]
	if !ok {
		s.mu.RUnlock()
		return nil, errNoSuchBucket(bucket)
	}
	objs := make([]*Object, 0, len(b.objects))
	for k, o := range b.objects {
		if strings.HasPrefix(k, in.Prefix) && k > in.After {
			objs = append(objs, o)
		}
	}
	s.mu.RUnlock()
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })

	res := &ListResult{}
	if in.MaxKeys <= 0 {
		return res, nil
	}
	count := 0
	for _, o := range objs {
		if in.Delimiter != "" {
			if i := strings.Index(o.Key[len(in.Prefix):], in.Delimiter); i >= 0 {
				cp := o.Key[:len(in.Prefix)+i+len(in.Delimiter)]
				// Keys under a prefix already returned (on this page or as the
				// marker of the previous one) roll into it.
				if cp == res.Last || cp == in.After {
					continue
				}
				if count == in.MaxKeys {
					res.Truncated = true
					break
				}
				res.CommonPrefixes = append(res.CommonPrefixes, cp)
				res.Last = cp
				count++
				continue
			}
		}
		if count == in.MaxKeys {
			res.Truncated = true
			break
		}
		res.Objects = append(res.Objects, o)
		res.Last = o.Key
		count++
	}
	return res, nil
}
