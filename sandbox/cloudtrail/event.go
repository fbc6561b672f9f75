// Package cloudtrail records every call the sandbox serves as a CloudTrail
// event, keeps the newest in a bounded ring, answers CloudTrail
// LookupEvents, delivers trail files into a sandbox bucket, and feeds the
// console's live timeline.
//
// Fidelity notes (checked against the CloudTrail record contents and
// userIdentity element references and seed 003):
//   - eventVersion is "1.11", the current documented version.
//   - Identity-enhanced sessions carry userIdentity.onBehalfOf {userId,
//     identityStoreArn}; credentialId is the aws:credential_id of the
//     Identity Center token whose identity context made the session (found
//     by following the chain the sandbox itself recorded).
//   - Where the sandbox must guess: readOnly (from the operation's verb),
//     managementEvent/eventCategory (S3 object operations are Data events,
//     everything else Management), eventSource for services not listed in
//     sources, sourceIPAddress (the loopback peer), and the exact
//     requestParameters/responseElements members of each API (derived from
//     the wire request, secrets replaced by HIDDEN_DUE_TO_SECURITY_REASONS or
//     left out). LookupEvents here also returns data events, which AWS's
//     LookupEvents does not (AWS keeps them in trails and CloudTrail Lake).
//   - additionalEventData.tipctlDecision is the sandbox's own field: what
//     refused a call. AWS has no such field.
package cloudtrail

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/callctx"
)

// EventVersion is the record format version emitted.
const EventVersion = "1.11"

// Hidden replaces secret values, as AWS does in CloudTrail.
const Hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"

// Record is one CloudTrail event in the documented JSON layout.
type Record struct {
	EventVersion        string         `json:"eventVersion"`
	UserIdentity        *UserIdentity  `json:"userIdentity"`
	EventTime           string         `json:"eventTime"`
	EventSource         string         `json:"eventSource"`
	EventName           string         `json:"eventName"`
	AwsRegion           string         `json:"awsRegion"`
	SourceIPAddress     string         `json:"sourceIPAddress"`
	UserAgent           string         `json:"userAgent"`
	ErrorCode           string         `json:"errorCode,omitempty"`
	ErrorMessage        string         `json:"errorMessage,omitempty"`
	RequestParameters   map[string]any `json:"requestParameters"`
	ResponseElements    map[string]any `json:"responseElements"`
	AdditionalEventData map[string]any `json:"additionalEventData,omitempty"`
	RequestID           string         `json:"requestID"`
	EventID             string         `json:"eventID"`
	ReadOnly            bool           `json:"readOnly"`
	Resources           []Resource     `json:"resources,omitempty"`
	EventType           string         `json:"eventType"`
	ManagementEvent     bool           `json:"managementEvent"`
	RecipientAccountID  string         `json:"recipientAccountId"`
	EventCategory       string         `json:"eventCategory"`
}

// Resource is one member of the resources list.
type Resource struct {
	ARN       string `json:"ARN"`
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type"`
}

// UserIdentity is the userIdentity element.
type UserIdentity struct {
	Type           string          `json:"type"`
	PrincipalID    string          `json:"principalId,omitempty"`
	ARN            string          `json:"arn,omitempty"`
	AccountID      string          `json:"accountId,omitempty"`
	AccessKeyID    string          `json:"accessKeyId,omitempty"`
	UserName       string          `json:"userName,omitempty"`
	SessionContext *SessionContext `json:"sessionContext,omitempty"`
	SourceIdentity string          `json:"sourceIdentity,omitempty"`
	OnBehalfOf     *OnBehalfOf     `json:"onBehalfOf,omitempty"`
	CredentialID   string          `json:"credentialId,omitempty"`
}

// SessionContext describes a temporary session.
type SessionContext struct {
	SessionIssuer       *SessionIssuer     `json:"sessionIssuer,omitempty"`
	WebIDFederationData *WebIDFederation   `json:"webIdFederationData,omitempty"`
	Attributes          *SessionAttributes `json:"attributes"`
	SourceIdentity      string             `json:"sourceIdentity,omitempty"`
}

// SessionIssuer is the role a session was made from.
type SessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// WebIDFederation is set for sessions made by AssumeRoleWithWebIdentity.
type WebIDFederation struct {
	FederatedProvider string         `json:"federatedProvider"`
	Attributes        map[string]any `json:"attributes"`
}

// SessionAttributes are the session's creation date and MFA flag.
type SessionAttributes struct {
	CreationDate     string `json:"creationDate,omitempty"`
	MfaAuthenticated string `json:"mfaAuthenticated"`
}

// OnBehalfOf is the person an identity-enhanced session acts for.
type OnBehalfOf struct {
	UserID           string `json:"userId"`
	IdentityStoreArn string `json:"identityStoreArn"`
}

// Event is a recorded call: the CloudTrail record, kept encoded, plus what
// only the sandbox knows (for the console), never serialized into the
// record. The record is encoded once, when the event is built, and kept
// only as JSON: the ring holds thousands of events, and nested maps of
// them would make every garbage collection of the sandbox scan them.
type Event struct {
	// Summary holds the record's members that LookupEvents filters on and
	// the console shows.
	Summary Summary
	Time    time.Time
	// Service is the sandbox's routing name ("s3", "sso-oauth", ...).
	Service string
	// Decision is set on refused calls.
	Decision *callctx.Decision
	// Limits are the data-level restrictions that shaped an allowed call's
	// result (row-level security, document ACLs); see callctx.Limit.
	Limits []callctx.Decision
	// Person is the Identity Center user behind the call (email or user name).
	Person string
	// Issued is the access key id of credentials the call returned.
	Issued string
	// Chain is the id of the TIP chain this call belongs to (the bridge
	// session's access key id), "" when none.
	Chain string
	// Claims are decoded, signature-free token claims the call exchanged
	// (the IdP id_token of AssumeRoleWithWebIdentity, the Identity Center
	// id token of CreateTokenWithIAM), secrets masked.
	Claims map[string]any

	seq  uint64
	json []byte
	// unbuilt is the capture of an event not built yet (see Recorder.drain).
	unbuilt *capture
}

// Summary is the part of a record kept decoded.
type Summary struct {
	EventID, EventName, EventSource string
	ErrorCode, ErrorMessage         string
	ReadOnly                        bool
	// UserType, ARN, PrincipalID, AccessKeyID and Username are the
	// userIdentity's; Role is its session issuer's name, OnBehalfOf its
	// onBehalfOf.userId.
	UserType, ARN, PrincipalID, AccessKeyID, Username, Role, OnBehalfOf string
	Resources                                                           []Resource
	// Resource is what the call was about, for people: s3://bucket/key, a
	// grant target, a role or application ARN.
	Resource string
	// RoleArn is requestParameters.roleArn (the role an exchange assumed).
	RoleArn string
}

// JSON is the CloudTrail record as JSON.
func (e *Event) JSON() []byte { return e.json }

// Record decodes the CloudTrail record.
func (e *Event) Record() Record {
	var r Record
	_ = json.Unmarshal(e.json, &r)
	return r
}

// Denied reports whether the call was refused for want of permission.
func (e *Event) Denied() bool {
	c := e.Summary.ErrorCode
	return e.Decision != nil || strings.Contains(c, "AccessDenied") || c == "UnauthorizedOperation" || c == "Forbidden"
}

// summarize fills e.Summary from rec and encodes rec.
func (e *Event) summarize(rec *Record) {
	s := &e.Summary
	s.EventID, s.EventName, s.EventSource = rec.EventID, rec.EventName, rec.EventSource
	s.ErrorCode, s.ErrorMessage, s.ReadOnly, s.Resources = rec.ErrorCode, rec.ErrorMessage, rec.ReadOnly, rec.Resources
	if u := rec.UserIdentity; u != nil {
		s.UserType, s.ARN, s.PrincipalID, s.AccessKeyID, s.Username = u.Type, u.ARN, u.PrincipalID, u.AccessKeyID, Username(u)
		if u.SessionContext != nil && u.SessionContext.SessionIssuer != nil {
			s.Role = u.SessionContext.SessionIssuer.UserName
		}
		if u.OnBehalfOf != nil {
			s.OnBehalfOf = u.OnBehalfOf.UserID
		}
	}
	rp := rec.RequestParameters
	str := func(k string) string { v, _ := rp[k].(string); return v }
	s.RoleArn = str("roleArn")
	switch {
	case str("bucketName") != "" && str("key") != "":
		s.Resource = "s3://" + str("bucketName") + "/" + str("key")
	case str("bucketName") != "":
		s.Resource = "s3://" + str("bucketName") + "/" + str("prefix")
	case str("target") != "":
		s.Resource = str("target")
	case s.RoleArn != "":
		s.Resource = s.RoleArn
	case str("clientId") != "":
		s.Resource = str("clientId")
	case str("resource") != "":
		s.Resource = str("resource")
	}
	if s.Resource == "" && e.Decision != nil {
		s.Resource = e.Decision.Resource
	}
	e.json, _ = json.Marshal(rec)
}

// identityStoreArn is arn:aws:identitystore::<account>:identitystore/<id>.
func identityStoreArn(account, storeID string) string {
	return "arn:aws:identitystore::" + account + ":identitystore/" + storeID
}

// userIdentity builds the element for p; lin adds what the recorded chain
// knows about the session (creation date, credential id).
func userIdentity(p *auth.Principal, lin *lineage, account string) *UserIdentity {
	if p == nil {
		return &UserIdentity{Type: "Unknown", AccountID: account}
	}
	u := &UserIdentity{PrincipalID: p.UserID, ARN: p.Arn, AccountID: p.AccountID, AccessKeyID: p.AccessKeyID}
	if !p.IsSession() {
		u.Type = "IAMUser"
		if i := strings.LastIndex(p.Arn, "/"); i >= 0 {
			u.UserName = p.Arn[i+1:]
		}
		return u
	}
	u.Type = "AssumedRole"
	roleID, _, _ := strings.Cut(p.UserID, ":")
	attrs := &SessionAttributes{MfaAuthenticated: "false"}
	if lin != nil && !lin.created.IsZero() {
		attrs.CreationDate = lin.created.UTC().Format(time.RFC3339)
	}
	u.SessionContext = &SessionContext{
		SessionIssuer: &SessionIssuer{Type: "Role", PrincipalID: roleID, ARN: p.RoleArn, AccountID: p.AccountID, UserName: p.RoleName},
		Attributes:    attrs,
	}
	if p.Federated != "" {
		u.SessionContext.WebIDFederationData = &WebIDFederation{FederatedProvider: p.Federated, Attributes: map[string]any{}}
	}
	if p.SourceIdentity != "" {
		u.SessionContext.SourceIdentity = p.SourceIdentity
	}
	if c := p.Context; c != nil && c.Provider == auth.IdentityCenterProvider && c.UserID != "" {
		acct := p.AccountID
		if c.InstanceArn == "" && account != "" {
			acct = account
		}
		u.OnBehalfOf = &OnBehalfOf{UserID: c.UserID, IdentityStoreArn: identityStoreArn(acct, c.IdentityStoreID)}
		if lin != nil {
			u.CredentialID = lin.credentialID
		}
	}
	return u
}
