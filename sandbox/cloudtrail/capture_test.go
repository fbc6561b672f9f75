package cloudtrail

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tipctl/tipctl/sandbox/callctx"
)

// A stalled builder never lets the waiting calls grow past maxPending: the
// call that finds the queue full builds the backlog itself, in order.
func TestPendingIsBounded(t *testing.T) {
	r := New(Options{Size: 2 * maxPending, Account: "123456789012", Region: "us-east-1"})
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	r.pmu.Lock()
	r.building = true // as if a builder were running but not scheduled
	r.pmu.Unlock()
	for i := 0; i < maxPending; i++ {
		r.Serve("example", h, httptest.NewRecorder(), httptest.NewRequest("GET", "/op"+strconv.Itoa(i), nil))
	}
	r.pmu.Lock()
	n := len(r.pending)
	r.pmu.Unlock()
	if n != 0 {
		t.Fatalf("%d calls wait; the call that filled the queue should have built them", n)
	}
	r.mu.Lock()
	count := r.count
	r.mu.Unlock()
	evs := r.Events()
	if count != maxPending || evs[0].Summary.EventName != "GET /op"+strconv.Itoa(maxPending-1) {
		t.Fatalf("%d events, newest %q", count, evs[0].Summary.EventName)
	}
}

// Every call that has returned is in Events, in the order the calls ended,
// however many run at once.
func TestEventsSeeEveryReturnedCall(t *testing.T) {
	r := New(Options{Size: 5000, Account: "123456789012", Region: "us-east-1"})
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 250; i++ {
				r.Serve("example", h, httptest.NewRecorder(), httptest.NewRequest("GET", "/op", nil))
			}
		}()
	}
	wg.Wait()
	evs := r.Events()
	if len(evs) != 2000 {
		t.Fatalf("%d events after 2000 calls returned", len(evs))
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].seq >= evs[i-1].seq {
			t.Fatalf("events out of order at %d", i)
		}
	}
}

// An event built when it is read is the event built at once: the same
// record from the same call.
func TestLazyAndEagerEventsAreIdentical(t *testing.T) {
	fixed := func() time.Time { return time.Date(2026, 12, 5, 23, 0, 0, 0, time.UTC) }
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.Header().Set("X-Amzn-Requestid", "req-1")
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{"Status":"ok","Token":"s3cr3t","Items":[{"Name":"a"}]}`))
	})
	call := func(r *Recorder) {
		req := httptest.NewRequest("POST", "/", strings.NewReader(`{"Name":"x","Password":"hunter2","Nested":{"ClientSecret":"y"}}`))
		req.Header.Set("X-Amz-Target", "Example.CreateThing")
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		r.Serve("example", h, httptest.NewRecorder(), req)
	}
	lazy := New(Options{Size: 10, Account: "123456789012", Region: "us-east-1", Now: fixed})
	eager := New(Options{Size: 10, Account: "123456789012", Region: "us-east-1", Now: fixed})
	_, cancel := eager.Subscribe()
	defer cancel()
	call(lazy)
	call(eager)
	lazy.Flush()
	lazy.mu.Lock()
	unbuilt := lazy.ring[0].unbuilt != nil
	lazy.mu.Unlock()
	if !unbuilt {
		t.Fatal("the unobserved recorder built the event at once")
	}
	a, b := lazy.Events()[0], eager.Events()[0]
	norm := func(e *Event) string { return strings.Replace(string(e.JSON()), e.Summary.EventID, "ID", 1) }
	if norm(a) != norm(b) || a.Summary.EventName != "CreateThing" {
		t.Fatalf("lazy  %s\neager %s", norm(a), norm(b))
	}
	if strings.Contains(norm(a), "hunter2") || strings.Contains(norm(a), "s3cr3t") {
		t.Fatalf("a secret reached the record: %s", norm(a))
	}
}

// A call that issues credentials also waits unbuilt: its lineage is learnt
// at once, the kept reply holds no secret, and the event built when read
// is the one built at once.
func TestIssuingCallsWaitUnbuiltWithoutSecrets(t *testing.T) {
	fixed := func() time.Time { return time.Date(2026, 12, 5, 23, 0, 0, 0, time.UTC) }
	const secret, token = "wJalrXUtnFEMIK7MDENGbPxRfiCYSECRET", "FwoGZXIvYXdzSESSIONTOKEN"
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.Header().Set("X-Amzn-Requestid", "req-2")
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>` +
			`<Credentials><AccessKeyId>ASIAISSUED0001</AccessKeyId><SecretAccessKey>` + secret + `</SecretAccessKey>` +
			`<SessionToken>` + token + `</SessionToken><Expiration>2026-12-06T00:00:00Z</Expiration></Credentials>` +
			`<AssumedRoleUser><AssumedRoleId>AROA1:s</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn></AssumedRoleUser>` +
			`</AssumeRoleResult><ResponseMetadata><RequestId>req-2</RequestId></ResponseMetadata></AssumeRoleResponse>`))
	})
	call := func(r *Recorder) {
		req := httptest.NewRequest("POST", "/", strings.NewReader("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=s"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Serve("sts", h, httptest.NewRecorder(), req)
	}
	lazy := New(Options{Size: 10, Account: "123456789012", Region: "us-east-1", Now: fixed})
	eager := New(Options{Size: 10, Account: "123456789012", Region: "us-east-1", Now: fixed})
	_, cancel := eager.Subscribe()
	defer cancel()
	call(lazy)
	call(eager)
	lazy.Flush()
	lazy.mu.Lock()
	c := lazy.ring[0].unbuilt
	lazy.mu.Unlock()
	if c == nil {
		t.Fatal("the unobserved recorder built the AssumeRole event at once")
	}
	if kept := string(c.respBody); strings.Contains(kept, secret) || strings.Contains(kept, token) || !strings.Contains(kept, "ASIAISSUED0001") {
		t.Fatalf("the waiting capture keeps %s", kept)
	}
	if l := lazy.lineageOf("ASIAISSUED0001"); l == nil || !l.created.Equal(fixed()) {
		t.Fatalf("the issued key's lineage was not learnt at once: %+v", l)
	}
	a, b := lazy.Events()[0], eager.Events()[0]
	norm := func(e *Event) string { return strings.Replace(string(e.JSON()), e.Summary.EventID, "ID", 1) }
	if norm(a) != norm(b) || a.Issued != "ASIAISSUED0001" || b.Issued != a.Issued || a.Chain != b.Chain {
		t.Fatalf("lazy  %s (issued %q)\neager %s (issued %q)", norm(a), a.Issued, norm(b), b.Issued)
	}
	if s := norm(a); strings.Contains(s, secret) || strings.Contains(s, token) || !strings.Contains(s, `"accessKeyId":"ASIAISSUED0001"`) {
		t.Fatalf("record %s", s)
	}
}

// The awsQuery shortcut reads the same key id as decoding the reply, and
// gives way to decoding whenever the reply is not plainly shaped.
func TestCredentialsKeyAgreesWithDecoding(t *testing.T) {
	for _, b := range []string{
		`<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIA1</AccessKeyId></Credentials></AssumeRoleResult></AssumeRoleResponse>`,
		"<?xml version=\"1.0\"?>\n<AssumeRoleResponse xmlns=\"x\">\n  <AssumeRoleResult>\n    <Credentials>\n      <AccessKeyId>ASIA2</AccessKeyId>\n    </Credentials>\n  </AssumeRoleResult>\n</AssumeRoleResponse>",
		`<R><XResult><Other><Credentials><AccessKeyId>ASIA3</AccessKeyId></Credentials></Other></XResult></R>`,
		`<R><XResult><Credentials><AccessKeyId>ASIA&amp;4</AccessKeyId></Credentials></XResult></R>`,
		`<R><XResult><Credentials><AccessKeyId>ASIA5</AccessKeyId></Credentials><Credentials><AccessKeyId>ASIA6</AccessKeyId></Credentials></XResult></R>`,
		`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIA9</AccessKeyId></Credentials></AssumeRoleResult></AssumeRoleResponse>`,
		`<R xmlns="a/b"><Empty/><XResult><Credentials><AccessKeyId>ASIA10</AccessKeyId></Credentials></XResult></R>`,
		`<R><Skip></Skip><XResult><Credentials><AccessKeyId>ASIA11</AccessKeyId></Credentials></XResult></R>`,
		`{"Credentials":{"AccessKeyId":"ASIA7"}}`,
		`{"accessKey":{"accessKeyId":"AKIA8"}}`,
	} {
		creds, _ := bodyElements([]byte(b), "")["credentials"].(map[string]any)
		want, _ := creds["accessKeyId"].(string)
		if got := credentialsKeyIn([]byte(b), ""); got != want {
			t.Errorf("%s: %q, decoding says %q", b, got, want)
		}
		if _, ok := stsCredentialsKey([]byte(b)); !ok && strings.Contains(b, "AssumeRoleResponse") {
			t.Errorf("%s: the STS reply is not read plainly", b)
		}
	}
}

// A token exchange waits unbuilt too, keeping neither the assertion it
// exchanged nor the bearer tokens it returned, and builds as at once.
func TestTokenExchangeWaitsUnbuiltWithoutBearers(t *testing.T) {
	fixed := func() time.Time { return time.Date(2026, 12, 5, 23, 0, 0, 0, time.UTC) }
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"email":"pat@example.com","sts:identity_context":"ctx-1","aws:credential_id":"cred-1"}`))
	idToken := "eyJhbGciOiJSUzI1NiJ9." + claims + ".c2ln"
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		callctx.SetOperation(r.Context(), "CreateTokenWithIAM")
		w.Header().Set("X-Amzn-Requestid", "req-3")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"accessToken":"aoaBEARER1","tokenType":"Bearer","expiresIn":3600,"refreshToken":"aorREFRESH1","idToken":"` + idToken + `"}`))
	})
	call := func(r *Recorder) {
		req := httptest.NewRequest("POST", "/token?aws_iam=t", strings.NewReader(`{"clientId":"arn:aws:sso::1:application/x","grantType":"urn:ietf:params:oauth:grant-type:jwt-bearer","assertion":"eyJ.ASSERTION1.sig"}`))
		req.Header.Set("Content-Type", "application/json")
		r.Serve("sso-oauth", h, httptest.NewRecorder(), req)
	}
	lazy := New(Options{Size: 10, Account: "123456789012", Region: "us-east-1", Now: fixed})
	eager := New(Options{Size: 10, Account: "123456789012", Region: "us-east-1", Now: fixed})
	_, cancel := eager.Subscribe()
	defer cancel()
	call(lazy)
	call(eager)
	lazy.Flush()
	lazy.mu.Lock()
	c := lazy.ring[0].unbuilt
	lazy.mu.Unlock()
	if c == nil {
		t.Fatal("the unobserved recorder built the token exchange at once")
	}
	kept := string(c.reqBody) + string(c.respBody)
	for _, s := range []string{"aoaBEARER1", "aorREFRESH1", "ASSERTION1"} {
		if strings.Contains(kept, s) {
			t.Fatalf("the waiting capture keeps %s: %s", s, kept)
		}
	}
	if l, ok := lazy.token("ctx-1"); !ok || l.credentialID != "cred-1" {
		t.Fatalf("the token's identity context was not learnt at once: %+v %v", l, ok)
	}
	a, b := lazy.Events()[0], eager.Events()[0]
	norm := func(e *Event) string { return strings.Replace(string(e.JSON()), e.Summary.EventID, "ID", 1) }
	if norm(a) != norm(b) || a.Summary.EventName != "CreateTokenWithIAM" || a.Person != "pat@example.com" || a.Person != b.Person || a.Claims == nil {
		t.Fatalf("lazy  %s (%q)\neager %s (%q)", norm(a), a.Person, norm(b), b.Person)
	}
	if s := norm(a); !strings.Contains(s, `"accessToken":"`+Hidden+`"`) || !strings.Contains(s, `"assertion":"`+Hidden+`"`) {
		t.Fatalf("record %s", s)
	}
}
