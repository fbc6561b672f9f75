package cloudtrail

import (
	"bytes"
)

// learn records, in call order, what a call teaches the recorder about
// credentials and tokens that later calls will present: the lineage of an
// access key id it issued, and the chain of an Identity Center token's
// identity context. It reads only the few members it needs (scanning the
// raw bytes where the sandbox's own replies allow it), so that calls that
// issue credentials can wait, unbuilt, like any other call; the event
// itself is built later from c.issued and c.chain, never from the
// recorder's maps, so building it at once or when read gives the same
// record.
func (r *Recorder) learn(c *capture) {
	p := c.snap.Principal
	caller, chain, credID, person := "", "", "", ""
	if p != nil {
		caller = p.AccessKeyID
	}
	if p == nil && c.op == "AssumeRoleWithWebIdentity" && c.reqBody != nil {
		reqBody := bodyElements(c.reqBody, c.reqType)
		if tok, _ := reqBody["webIdentityToken"].(string); tok != "" {
			if cl := jwtClaims(tok); cl != nil {
				person, _ = cl["email"].(string)
			}
		}
	}
	if lin := c.callerLin; lin != nil {
		chain, credID = lin.chain, lin.credentialID
		if person == "" {
			person = lin.person
		}
	}
	respOK := c.capOn && !c.respOver && c.status < 300
	vends := readOnly(c.op) && c.snap.Response == nil // see build: only the key id is read
	if c.op == "CreateTokenWithIAM" && respOK && !vends {
		if tok := idTokenIn(c.respBody, c.respType); tok != "" {
			if cl := jwtClaims(tok); cl != nil {
				cid, _ := cl["aws:credential_id"].(string)
				if ic, _ := cl["sts:identity_context"].(string); ic != "" {
					r.rememberToken(ic, lineage{chain: chain, credentialID: cid})
				}
			}
		}
	}
	if c.op == "AssumeRole" && c.reqBody != nil && bytes.Contains(c.reqBody, []byte("rovidedContexts")) {
		reqBody := bodyElements(c.reqBody, c.reqType)
		if lst, ok := reqBody["providedContexts"].([]any); ok {
			for _, x := range lst {
				m, _ := x.(map[string]any)
				a, _ := m["contextAssertion"].(string)
				if t, ok := r.token(a); ok {
					credID = t.credentialID
					if t.chain != "" {
						chain = t.chain
					}
				}
			}
		}
	}
	c.chain = chain
	akid := ""
	switch {
	case !respOK:
	case vends:
		akid = fieldIn(c.respBody, "AccessKeyId")
	default:
		akid = credentialsKeyIn(c.respBody, c.respType)
	}
	if akid == "" {
		return
	}
	c.issued = akid
	if chain == "" && c.op == "AssumeRoleWithWebIdentity" {
		c.chain = akid
	}
	r.remember(akid, &lineage{created: c.now, parent: caller, chain: c.chain, credentialID: credID, person: person})
}

// credentialsKeyIn is responseElements.credentials.accessKeyId of a reply:
// read straight from an awsQuery reply whose result starts with its
// Credentials (the STS AssumeRole family), decoded otherwise.
func credentialsKeyIn(b []byte, contentType string) string {
	if !bytes.Contains(b, []byte("ccessKeyId")) {
		return ""
	}
	if akid, ok := stsCredentialsKey(b); ok {
		return akid
	}
	creds, _ := bodyElements(b, contentType)["credentials"].(map[string]any)
	akid, _ := creds["accessKeyId"].(string)
	return akid
}

// stsCredentialsKey reads <…Response><…Result><Credentials><AccessKeyId>
// when the reply holds exactly one of each and nothing else before them.
func stsCredentialsKey(b []byte) (string, bool) {
	open := []byte("<Credentials>")
	key := []byte("<AccessKeyId>")
	if bytes.Count(b, open) != 1 || bytes.Count(b, key) != 1 {
		return "", false
	}
	i := bytes.Index(b, open)
	head := bytes.TrimSpace(b[:i])
	if !bytes.HasSuffix(head, []byte("Result>")) {
		return "", false
	}
	if bytes.HasPrefix(head, []byte("<?xml")) {
		j := bytes.Index(head, []byte("?>"))
		if j < 0 {
			return "", false
		}
		head = head[j+2:]
	}
	// Exactly two start tags (the response and its result), no other markup.
	if bytes.Count(head, []byte("<")) != 2 || bytes.Contains(head, []byte("</")) || bytes.Contains(head, []byte("/>")) ||
		bytes.ContainsAny(head, "!?&") {
		return "", false
	}
	rest := bytes.TrimSpace(b[i+len(open):])
	if !bytes.HasPrefix(rest, key) {
		return "", false
	}
	rest = rest[len(key):]
	j := bytes.IndexByte(rest, '<')
	if j <= 0 || j > 128 || !bytes.HasPrefix(rest[j:], []byte("</AccessKeyId>")) {
		return "", false
	}
	v := rest[:j]
	if len(bytes.TrimSpace(v)) != len(v) || bytes.ContainsAny(v, "&\r") {
		return "", false
	}
	return string(v), true
}

// idTokenIn is responseElements.idToken of a JSON reply (a compact JWS has
// no quotes or escapes), decoded when not found plainly.
func idTokenIn(b []byte, contentType string) string {
	if !bytes.Contains(b, []byte("dToken")) {
		return ""
	}
	if len(b) > 0 && b[0] == '{' {
		for _, open := range []string{`"idToken":"`, `"IdToken":"`} {
			if bytes.Count(b, []byte(open[:len(open)-2])) != 1 {
				continue
			}
			if i := bytes.Index(b, []byte(open)); i >= 0 {
				rest := b[i+len(open):]
				if j := bytes.IndexByte(rest, '"'); j > 0 && bytes.IndexByte(rest[:j], '\\') < 0 {
					return string(rest[:j])
				}
			}
		}
	}
	tok, _ := bodyElements(b, contentType)["idToken"].(string)
	return tok
}

// secretElements are reply members AWS leaves out of responseElements
// (see omitted); a capture that waits unbuilt does not keep them.
var secretElements = [][2][]byte{
	{[]byte("<SecretAccessKey>"), []byte("</SecretAccessKey>")},
	{[]byte("<SessionToken>"), []byte("</SessionToken>")},
}

// stripSecrets removes the leaf elements of secretElements from an XML
// reply, in place; the record never shows them (redact deletes them), and
// the ring then keeps no session token or secret key. JSON replies lose
// their bearer tokens' values (see stripBearers).
func stripSecrets(b []byte) []byte {
	if len(b) > 0 && b[0] == '{' {
		return stripBearers(b)
	}
	if len(b) == 0 || b[0] != '<' {
		return b
	}
	for _, el := range secretElements {
		for {
			i := bytes.Index(b, el[0])
			if i < 0 {
				break
			}
			body := b[i+len(el[0]):]
			j := bytes.IndexByte(body, '<')
			if j < 0 || !bytes.HasPrefix(body[j:], el[1]) {
				break // not a leaf: leave it to the decoder
			}
			end := i + len(el[0]) + j + len(el[1])
			b = append(b[:i], b[end:]...)
		}
	}
	return b
}

// bearerMembers are JSON reply members whose values the record always
// hides (secretKeys) and nothing else reads; requestSecrets are their
// request peers.
var (
	bearerMembers  = []string{`"accessToken":"`, `"AccessToken":"`, `"refreshToken":"`, `"RefreshToken":"`}
	requestSecrets = []string{`"assertion":"`, `"Assertion":"`, `"subjectToken":"`, `"SubjectToken":"`, `"clientSecret":"`,
		`"ClientSecret":"`, `"codeVerifier":"`, `"CodeVerifier":"`, `"refreshToken":"`, `"RefreshToken":"`, `"code":"`, `"Code":"`}
)

// stripBearers empties those members' string values in a JSON reply, in
// place: the record shows HIDDEN_DUE_TO_SECURITY_REASONS for them either
// way, and the ring then keeps no bearer token.
func stripBearers(b []byte) []byte { return emptyMembers(b, bearerMembers) }

// stripRequestSecrets is stripBearers for a JSON request (the assertion a
// CreateTokenWithIAM exchanges, a client secret).
func stripRequestSecrets(b []byte) []byte { return emptyMembers(b, requestSecrets) }

func emptyMembers(b []byte, members []string) []byte {
	if len(b) == 0 || b[0] != '{' {
		return b
	}
	for _, open := range members {
		if bytes.Count(b, []byte(open[:len(open)-2])) != 1 {
			continue
		}
		i := bytes.Index(b, []byte(open))
		if i < 0 {
			continue
		}
		start := i + len(open)
		j := bytes.IndexByte(b[start:], '"')
		if j <= 0 || bytes.IndexByte(b[start:start+j], '\\') >= 0 {
			continue
		}
		b = append(b[:start], b[start+j:]...)
	}
	return b
}
