package cloudtrail_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/tipctl/tipctl/sandbox/cloudtrail"
	"github.com/tipctl/tipctl/sandbox/cloudtrail/cttest"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

const (
	emea = "s3://analytics-data/emea/"
	apac = "s3://analytics-data/apac/"
)

func find(evs []*cloudtrail.Event, name string, ok func(*cloudtrail.Event) bool) *cloudtrail.Event {
	for _, e := range evs {
		if e.Record().EventName == name && (ok == nil || ok(e)) {
			return e
		}
	}
	return nil
}

func TestEveryCallIsRecordedWithThePerson(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	day := cttest.PersonDay(t, sb, "alice@example.com", "alice-sandbox-pw", emea, apac)
	evs := sb.Trail.Events()

	web := find(evs, "AssumeRoleWithWebIdentity", nil)
	if web == nil || web.Record().UserIdentity.Type != "WebIdentityUser" || web.Record().EventSource != "sts.amazonaws.com" {
		t.Fatalf("AssumeRoleWithWebIdentity event: %+v", web)
	}
	if rp := web.Record().RequestParameters; rp["roleArn"] == nil || rp["webIdentityToken"] != nil && rp["webIdentityToken"] != cloudtrail.Hidden {
		t.Fatalf("requestParameters %v", rp)
	}
	tok := find(evs, "CreateTokenWithIAM", nil)
	if tok == nil || tok.Record().UserIdentity.Type != "AssumedRole" || tok.Record().EventSource != "sso-oauth.amazonaws.com" {
		t.Fatalf("CreateTokenWithIAM event: %+v", tok)
	}
	get := find(evs, "GetObject", nil)
	if get == nil {
		t.Fatal("no GetObject event")
	}
	r := get.Record()
	u := r.UserIdentity
	if u.Type != "AssumedRole" || u.OnBehalfOf == nil || u.OnBehalfOf.UserID != day.UserID ||
		!strings.HasPrefix(u.OnBehalfOf.IdentityStoreArn, "arn:aws:identitystore::"+sb.Env.World.AccountID+":identitystore/d-") {
		t.Fatalf("GetObject userIdentity %+v onBehalfOf %+v", u, u.OnBehalfOf)
	}
	if u.CredentialID == "" || u.SessionContext == nil || u.SessionContext.SessionIssuer.Type != "Role" || u.SessionContext.Attributes.CreationDate == "" {
		t.Fatalf("GetObject userIdentity lacks credentialId or sessionContext: %+v", u)
	}
	if r.EventCategory != "Data" || r.ManagementEvent || !r.ReadOnly || r.EventSource != "s3.amazonaws.com" ||
		r.RequestParameters["key"] != day.ReadKey || r.RequestParameters["bucketName"] != "analytics-data" || r.RecipientAccountID != sb.Env.World.AccountID {
		t.Fatalf("GetObject record %+v", r)
	}
	// The enhanced session made the credentials; it carries the same credential id.
	gda := find(evs, "GetDataAccess", func(e *cloudtrail.Event) bool { return e.Record().ErrorCode == "" })
	if gda == nil || gda.Record().UserIdentity.CredentialID != u.CredentialID || gda.Record().UserIdentity.AccessKeyID != day.Enhanced.AccessKeyID {
		t.Fatalf("GetDataAccess event %+v", gda)
	}
	// Events built when read follow the chain learnt in call order: the
	// bridge session the web identity exchange issued, through the token
	// and the identity-enhanced session, to the data access.
	enh := find(evs, "AssumeRole", func(e *cloudtrail.Event) bool { return e.Issued == day.Enhanced.AccessKeyID })
	if web.Issued == "" || web.Chain != web.Issued || tok.Chain != web.Issued || enh == nil || enh.Chain != web.Issued ||
		get.Chain != web.Issued || gda.Chain != web.Issued || get.Person != "alice@example.com" || enh.Claims == nil {
		t.Fatalf("chain: web %q/%q token %q enhanced %+v GetObject %q (%s) GetDataAccess %q", web.Issued, web.Chain, tok.Chain, enh, get.Chain, get.Person, gda.Chain)
	}
	creds := gda.Record().ResponseElements["credentials"].(map[string]any)
	if creds["accessKeyId"] != u.AccessKeyID || creds["secretAccessKey"] != nil || creds["sessionToken"] != nil {
		t.Fatalf("GetDataAccess responseElements.credentials %v", creds)
	}

	denied := find(evs, "GetDataAccess", func(e *cloudtrail.Event) bool { return e.Record().ErrorCode != "" })
	if denied == nil || denied.Record().ErrorCode != "AccessDenied" || !strings.Contains(denied.Record().ErrorMessage, "apac") {
		t.Fatalf("refused GetDataAccess: %+v", denied)
	}
	if denied.Record().AdditionalEventData["tipctlDecision"] == nil || denied.Decision == nil || denied.Decision.Kind != "access-grants" || !strings.Contains(denied.Decision.Reason, "no access grant") {
		t.Fatalf("refusal is not explained: %+v", denied.Decision)
	}
	t.Logf("GetObject: %s", get.JSON())
	t.Logf("refused: %s", denied.JSON())
	var raw map[string]any
	if err := json.Unmarshal(denied.JSON(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
		"userAgent", "errorCode", "errorMessage", "requestParameters", "responseElements", "requestID", "eventID", "readOnly",
		"eventType", "managementEvent", "recipientAccountId", "eventCategory", "additionalEventData"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("the record has no %s: %s", k, denied.JSON())
		}
	}
	for _, e := range evs {
		b := string(e.JSON())
		for _, secret := range []string{day.Enhanced.SecretAccessKey, day.Enhanced.SessionToken} {
			if strings.Contains(b, secret) {
				t.Fatalf("a secret reached the %s record", e.Record().EventName)
			}
		}
	}
}

func TestRingIsBounded(t *testing.T) {
	rec := cloudtrail.New(cloudtrail.Options{Size: 3, Account: "123456789012", Region: "us-east-1"})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	for i := 0; i < 5; i++ {
		r := httptest.NewRequest("GET", "/op"+strconv.Itoa(i), nil)
		rec.Serve("example", h, httptest.NewRecorder(), r)
	}
	evs := rec.Events()
	if len(evs) != 3 || evs[0].Record().EventName != "GET /op4" || evs[2].Record().EventName != "GET /op2" {
		names := []string{}
		for _, e := range evs {
			names = append(names, e.Record().EventName)
		}
		t.Fatalf("kept %v, want the newest 3, newest first", names)
	}
	rec.SetEnabled(false)
	rec.Serve("example", h, httptest.NewRecorder(), httptest.NewRequest("GET", "/off", nil))
	if rec.Events()[0].Record().EventName == "GET /off" {
		t.Fatal("a disabled recorder recorded")
	}
}
