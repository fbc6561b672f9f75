package json11

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/tipctl/tipctl/sandbox/awsproto"
)

// Page cuts items into the page a list request asks for with its NextToken
// and MaxResults members. limit is both the page size when MaxResults is
// absent and the largest MaxResults the operation accepts. It returns the
// page (never nil, so it marshals as []) and the token of the next page, nil
// on the last one.
//
// The NextToken is opaque to clients; it binds the operation op and the
// listed resource key, so that a token of one listing is refused by another,
// as AWS does.
func Page[T any](op, key string, items []T, token *string, maxResults *int, limit int) ([]T, *string, *awsproto.Error) {
	n := len(items)
	size := limit
	if maxResults != nil {
		switch m := *maxResults; {
		case m < 1:
			return nil, nil, Validation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1", m)
		case m > limit:
			return nil, nil, Validation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to %d", m, limit)
		}
		size = *maxResults
	}
	start := 0
	if token != nil && *token != "" {
		off, ok := decodeToken(op, key, *token)
		if !ok || off > n {
			return nil, nil, Validation("The NextToken is invalid or expired; start the listing again without it")
		}
		start = off
	}
	end := min(start+size, n)
	var next *string
	if end < n {
		t := encodeToken(op, key, end)
		next = &t
	}
	page := items[start:end]
	if page == nil {
		page = []T{}
	}
	return page, next, nil
}

// List is the reply of a list operation: the page of items under the
// operation's member name, then NextToken when there is a next page.
type List struct {
	Member string
	Items  any
	Next   *string
}

// MarshalJSON writes {"<Member>":<Items>,"NextToken":<Next>}, leaving
// NextToken out on the last page.
func (l List) MarshalJSON() ([]byte, error) {
	items, err := json.Marshal(l.Items)
	if err != nil {
		return nil, err
	}
	member, _ := json.Marshal(l.Member)
	var b bytes.Buffer
	b.WriteByte('{')
	b.Write(member)
	b.WriteByte(':')
	b.Write(items)
	if l.Next != nil {
		next, _ := json.Marshal(*l.Next)
		b.WriteString(`,"NextToken":`)
		b.Write(next)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
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
