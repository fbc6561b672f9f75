package json11_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/internal/lazyre"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/awsproto/json11"
)

func TestPageWalksTheListAndBindsTokens(t *testing.T) {
	items := []string{"a", "b", "c", "d", "e"}
	two := 2
	var got []string
	var token *string
	for range 10 {
		page, next, e := json11.Page("ListThings", "k1", items, token, &two, 100)
		if e != nil {
			t.Fatalf("page after %v: %v", got, e)
		}
		got = append(got, page...)
		if next == nil {
			break
		}
		token = next
	}
	if strings.Join(got, "") != "abcde" {
		t.Fatalf("walked %v", got)
	}

	_, next, _ := json11.Page("ListThings", "k1", items, nil, &two, 100)
	for _, c := range []struct{ op, key string }{{"ListOther", "k1"}, {"ListThings", "k2"}} {
		_, _, e := json11.Page(c.op, c.key, items, next, nil, 100)
		if e == nil || e.Code != "ValidationException" || e.Status != 400 || !strings.Contains(e.Message, "NextToken is invalid") {
			t.Fatalf("token of ListThings/k1 used for %s/%s: %v", c.op, c.key, e)
		}
	}
	for _, bad := range []string{"Zm9vYmFy", "%%%", strings.Repeat("A", 3000)} {
		if _, _, e := json11.Page("ListThings", "k1", items, &bad, nil, 100); e == nil || e.Code != "ValidationException" {
			t.Fatalf("token %.10q accepted: %v", bad, e)
		}
	}
	// A token past the end of a list that shrank is refused.
	if _, _, e := json11.Page("ListThings", "k1", items[:1], next, nil, 100); e == nil {
		t.Fatal("token beyond the list accepted")
	}
}

func TestPageLimitsAndEmptyLists(t *testing.T) {
	items := make([]int, 25)
	page, next, e := json11.Page("Op", "", items, nil, nil, 10)
	if e != nil || len(page) != 10 || next == nil {
		t.Fatalf("default page: %d items, next %v, %v", len(page), next, e)
	}
	for _, c := range []struct {
		max  int
		want string
	}{
		{0, "Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{11, "Value '11' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10"},
	} {
		if _, _, e := json11.Page("Op", "", items, nil, &c.max, 10); e == nil || e.Code != "ValidationException" || !strings.Contains(e.Message, c.want) {
			t.Fatalf("MaxResults %d: %v", c.max, e)
		}
	}
	empty, next, e := json11.Page[string]("Op", "", nil, nil, nil, 10)
	if e != nil || empty == nil || len(empty) != 0 || next != nil {
		t.Fatalf("nil list: %#v %v %v", empty, next, e)
	}
	if b, _ := json.Marshal(json11.List{Member: "Things", Items: empty}); string(b) != `{"Things":[]}` {
		t.Fatalf("empty list reply %s", b)
	}
}

func TestListMarshalsLikeTheModeledStruct(t *testing.T) {
	type item struct {
		Name string
		N    int
	}
	items := []item{{"<a&b>", 1}, {"c", 2}}
	tok := "dG9r+/="
	for _, next := range []*string{nil, &tok} {
		want, _ := json.Marshal(struct {
			Items     []item
			NextToken *string `json:",omitempty"`
		}{items, next})
		got, err := json.Marshal(json11.List{Member: "Items", Items: items, Next: next})
		if err != nil || string(got) != string(want) {
			t.Fatalf("List marshals %s (%v), want %s", got, err, want)
		}
	}
}

func TestErrorsWording(t *testing.T) {
	re := lazyre.New(`^d-[0-9a-f]{10}$`)
	for _, c := range []struct {
		e    *awsproto.Error
		want string
	}{
		{json11.Required("instanceArn"), "1 validation error detected: Value null at 'instanceArn' failed to satisfy constraint: Member must not be null"},
		{json11.BadPattern("identityStoreId", strings.Repeat("x", 70), re, 64),
			"1 validation error detected: Value '" + strings.Repeat("x", 64) + "…' at 'identityStoreId' failed to satisfy constraint: Member must satisfy regular expression pattern: d-[0-9a-f]{10}"},
		{json11.BadEnum("principalType", "ROLE", "USER", "GROUP"),
			"1 validation error detected: Value 'ROLE' at 'principalType' failed to satisfy constraint: Member must satisfy enum value set: [USER, GROUP]"},
	} {
		if c.e.Code != "ValidationException" || c.e.Status != 400 || c.e.Message != c.want {
			t.Fatalf("got %d %s %q, want %q", c.e.Status, c.e.Code, c.e.Message, c.want)
		}
	}
	if e := json11.NotFound("Instance %s does not exist", "x"); e.Code != "ResourceNotFoundException" || e.Status != 400 {
		t.Fatalf("NotFound: %+v", e)
	}
}

// runtime authenticates every request as the principal named by the
// X-Test-Caller header: "admin", "timed" (allowed only while aws:CurrentTime
// is known), or anything else (no policies).
type runtime struct{}

func (runtime) Now() time.Time { return time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC) }

func (runtime) Authenticate(r *http.Request, body []byte, _ awsproto.VerifyOptions) (*auth.Principal, *awsproto.Error) {
	switch r.Header.Get("X-Test-Caller") {
	case "":
		return nil, awsproto.Errorf(http.StatusForbidden, "MissingAuthenticationTokenException", "unsigned")
	case "admin":
		return &auth.Principal{Admin: true, Arn: "arn:aws:iam::123456789012:user/admin", AccountID: "123456789012"}, nil
	case "timed":
		doc, err := iampolicy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"svc:*","Resource":"*",
			"Condition":{"Null":{"aws:CurrentTime":"false"}}}]}`))
		if err != nil {
			panic(err)
		}
		return &auth.Principal{Arn: "arn:aws:iam::123456789012:user/timed", AccountID: "123456789012", Policies: []*iampolicy.Document{doc}}, nil
	}
	return &auth.Principal{Arn: "arn:aws:iam::123456789012:user/nobody", AccountID: "123456789012"}, nil
}

type counter map[string]int

func (c counter) Inc(op string) { c[op]++ }

func newAPI(currentTime bool) (*json11.API, counter) {
	stats := counter{}
	api := &json11.API{Name: "svc-api", TargetPrefix: "SvcService.", Service: "svc", CurrentTime: currentTime,
		Runtime: runtime{}, Stats: stats}
	api.Operations = map[string]json11.Operation{
		"Echo": func(c *json11.Call) (any, *awsproto.Error) {
			var req struct{ Value *string }
			if e := c.Decode(&req); e != nil {
				return nil, e
			}
			if req.Value == nil {
				return nil, json11.Required("value")
			}
			if e := c.Authorize("arn:aws:svc:::thing/" + *req.Value); e != nil {
				return nil, e
			}
			return map[string]string{"Value": *req.Value, "Op": c.Op}, nil
		},
	}
	return api, stats
}

func do(t *testing.T, api http.Handler, method, path, target, caller, body string) (int, http.Header, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if target != "" {
		r.Header.Set("X-Amz-Target", target)
	}
	if caller != "" {
		r.Header.Set("X-Test-Caller", caller)
	}
	w := httptest.NewRecorder()
	api.ServeHTTP(w, r)
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("reply is not JSON: %s", w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		t.Fatalf("Content-Type %q", ct)
	}
	if w.Header().Get("x-amzn-RequestId") == "" || w.Header().Get("Date") == "" {
		t.Fatalf("headers %v", w.Header())
	}
	return w.Code, w.Header(), m
}

func TestAPIDispatch(t *testing.T) {
	api, stats := newAPI(false)
	status, _, m := do(t, api, "POST", "/", "SvcService.Echo", "admin", `{"Value":"v1"}`)
	if status != 200 || m["Value"] != "v1" || m["Op"] != "Echo" {
		t.Fatalf("Echo: %d %v", status, m)
	}
	for _, c := range []struct {
		method, path, target, caller, body string
		status                             int
		code, msg                          string
	}{
		{"GET", "/", "SvcService.Echo", "admin", "", 404, "UnknownOperationException", "svc-api accepts POST / with an X-Amz-Target header, not GET /"},
		{"POST", "/x", "SvcService.Echo", "admin", "", 404, "UnknownOperationException", "not POST /x"},
		{"POST", "/", "SvcService.Nope", "admin", "", 400, "UnknownOperationException", `the sandbox's svc-api has no operation "SvcService.Nope" (X-Amz-Target must be SvcService.<Operation>)`},
		{"POST", "/", "Other.Echo", "admin", "", 400, "UnknownOperationException", `no operation "Other.Echo"`},
		{"POST", "/", "SvcService.Echo", "", `{}`, 403, "MissingAuthenticationTokenException", "unsigned"},
		{"POST", "/", "SvcService.Echo", "admin", `{"Value":3}`, 400, "ValidationException", "field Value has the wrong type"},
		{"POST", "/", "SvcService.Echo", "admin", `{}`, 400, "ValidationException", "Value null at 'value'"},
		{"POST", "/", "SvcService.Echo", "nobody", `{"Value":"v2"}`, 400, "AccessDeniedException",
			"User: arn:aws:iam::123456789012:user/nobody is not authorized to perform: svc:Echo on resource: arn:aws:svc:::thing/v2 because no identity-based policy allows the svc:Echo action"},
	} {
		status, h, m := do(t, api, c.method, c.path, c.target, c.caller, c.body)
		msg, _ := m["message"].(string)
		if status != c.status || m["__type"] != c.code || h.Get("X-Amzn-ErrorType") != c.code || !strings.Contains(msg, c.msg) {
			t.Fatalf("%s %s %s as %q: %d %v, want %d %s %q", c.method, c.path, c.target, c.caller, status, m, c.status, c.code, c.msg)
		}
	}
	// A known operation is counted before authentication and validation; a
	// wrong method, path or target is not counted.
	if stats["svc:Echo"] != 5 || len(stats) != 1 {
		t.Fatalf("stats %v", stats)
	}
}

func TestAPICurrentTimeCondition(t *testing.T) {
	for _, withTime := range []bool{true, false} {
		api, _ := newAPI(withTime)
		status, _, m := do(t, api, "POST", "/", "SvcService.Echo", "timed", `{"Value":"v"}`)
		if withTime && status != 200 || !withTime && (status != 400 || m["__type"] != "AccessDeniedException") {
			t.Fatalf("CurrentTime %v: %d %v", withTime, status, m)
		}
	}
}
