package ssoadmin

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/tipctl/tipctl/sandbox/awsproto"
)

// window is one page of a list: items [start, end) and the token of the next page.
type window struct {
	start, end int
	next       *string
}

// paginate cuts a list of n items into pages. The NextToken is opaque to
// clients; it binds the operation and the listed resource (key), so that a
// token of one listing is refused by another, as AWS does.
func paginate(op, key string, token *string, maxResults *int, def, limit, n int) (window, *awsproto.Error) {
	size := def
	if maxResults != nil {
		switch m := *maxResults; {
		case m < 1:
			return window{}, validation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1", m)
		case m > limit:
			return window{}, validation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to %d", m, limit)
		}
		size = *maxResults
	}
	start := 0
	if token != nil && *token != "" {
		off, ok := decodeToken(op, key, *token)
		if !ok || off > n {
			return window{}, validation("The NextToken is invalid or expired; start the listing again without it")
		}
		start = off
	}
	end := min(start+size, n)
	w := window{start: start, end: end}
	if end < n {
		t := encodeToken(op, key, end)
		w.next = &t
	}
	return w, nil
}

func bind(op, key string) string {
	h := sha256.Sum256([]byte(op + "\x00" + key))
	return hex.EncodeToString(h[:6])
}

func encodeToken(op, key string, offset int) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("v1|%s|%d", bind(op, key), offset)))
}

func decodeToken(op, key, token string) (int, bool) {
	if len(token) > 2048 {
		return 0, false
	}
	b, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return 0, false
	}
	parts := strings.Split(string(b), "|")
	if len(parts) != 3 || parts[0] != "v1" || parts[1] != bind(op, key) {
		return 0, false
	}
	off, err := strconv.Atoi(parts[2])
	if err != nil || off < 0 {
		return 0, false
	}
	return off, true
}
