package world

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/internal/lazyre"
)

// CustomApplicationProvider is the provider ARN of customer-managed OAuth apps.
const CustomApplicationProvider = "arn:aws:sso::aws:applicationProvider/custom"

// StableHex returns n hex digits derived from parts, so that generated
// identifiers are the same on every start.
func StableHex(n int, parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	s := hex.EncodeToString(h[:])
	for len(s) < n {
		s += s
	}
	return s[:n]
}

// StableUUID returns a UUID-shaped identifier derived from parts.
func StableUUID(parts ...string) string {
	s := StableHex(32, parts...)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// InstanceID is the ssoins-… part of the instance ARN.
func (ic *IdentityCenter) InstanceID() string {
	return ic.InstanceArn[strings.LastIndex(ic.InstanceArn, "/")+1:]
}

// complete fills defaults and derived identifiers.
func (w *World) complete() {
	if w.AccountID == "" {
		w.AccountID = "123456789012"
	}
	if w.Region == "" {
		w.Region = "us-east-1"
	}
	if w.IdP.TokenTTL == 0 {
		w.IdP.TokenTTL = Duration(3600e9)
	}
	if w.IdP.RefreshTTL == 0 {
		w.IdP.RefreshTTL = Duration(720 * 3600e9)
	}
	for i := range w.IdP.Users {
		u := &w.IdP.Users[i]
		if u.Subject == "" {
			u.Subject = "00u" + StableHex(17, "idp-sub", u.Email)
		}
		if u.Name == "" {
			u.Name, _, _ = strings.Cut(u.Email, "@")
		}
	}
	ic := &w.IdentityCenter
	if ic.InstanceArn == "" {
		ic.InstanceArn = "arn:aws:sso:::instance/ssoins-" + StableHex(16, "instance", w.AccountID)
	}
	if ic.IdentityStoreID == "" {
		ic.IdentityStoreID = "d-" + StableHex(10, "store", w.AccountID)
	}
	for i := range ic.Users {
		u := &ic.Users[i]
		if u.UserID == "" {
			u.UserID = StableUUID("user", ic.IdentityStoreID, u.UserName)
		}
		if u.DisplayName == "" {
			u.DisplayName = u.UserName
		}
	}
	for i := range ic.Groups {
		if ic.Groups[i].GroupID == "" {
			ic.Groups[i].GroupID = StableUUID("group", ic.IdentityStoreID, ic.Groups[i].Name)
		}
	}
	for i := range ic.TrustedTokenIssuers {
		t := &ic.TrustedTokenIssuers[i]
		if t.Arn == "" && ic.InstanceArn != "" {
			t.Arn = fmt.Sprintf("arn:aws:sso::%s:trustedTokenIssuer/%s/tti-%s", w.AccountID, ic.InstanceID(), StableUUID("tti", t.Name))
		}
	}
	for i := range ic.Applications {
		a := &ic.Applications[i]
		if a.Arn == "" && ic.InstanceArn != "" {
			a.Arn = fmt.Sprintf("arn:aws:sso::%s:application/%s/apl-%s", w.AccountID, ic.InstanceID(), StableHex(16, "app", a.Name))
		}
		if a.Status == "" {
			a.Status = "ENABLED"
		}
		if a.ProviderArn == "" {
			a.ProviderArn = CustomApplicationProvider
		}
	}
	for i := range w.IAM.Roles {
		r := &w.IAM.Roles[i]
		if r.Path == "" {
			r.Path = "/"
		}
		if r.MaxSessionDuration == 0 {
			r.MaxSessionDuration = 3600
		}
	}
	ag := &w.S3.AccessGrants
	if ag.IdentityCenterArn == "" && !ag.NoIdentityCenter {
		ag.IdentityCenterArn = ic.InstanceArn
	}
	for i := range ag.Locations {
		l := &ag.Locations[i]
		if l.ID == "" {
			l.ID = "default"
			if l.Scope != "s3://" {
				l.ID = StableUUID("location", w.AccountID, l.Scope)
			}
		}
	}
	for i := range ag.Grants {
		g := &ag.Grants[i]
		if g.ID == "" {
			g.ID = StableUUID("grant", w.AccountID, g.Grantee, g.Permission, g.Target)
		}
	}
	for i := range w.IAM.ManagedPolicies {
		if w.IAM.ManagedPolicies[i].Path == "" {
			w.IAM.ManagedPolicies[i].Path = "/"
		}
	}
}

var (
	accountRe    = lazyre.New(`^\d{12}$`)
	regionRe     = lazyre.New(`^[a-z]{2}(-[a-z]+)+-\d$`)
	roleNameRe   = lazyre.New(`^[\w+=,.@-]{1,64}$`)
	bucketNameRe = lazyre.New(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	arnRe        = lazyre.New(`^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|aws)?:.+$`)
)

// StoreAttributePaths are the identity-store attributes a trusted token
// issuer may map a claim to.
var StoreAttributePaths = []string{"emails.value", "userName", "externalIds.id", "id"}

type checker struct{ probs []Problem }

func (c *checker) add(path, format string, a ...any) {
	c.probs = append(c.probs, Problem{Path: path, Msg: fmt.Sprintf(format, a...)})
}

func (c *checker) required(path, v string) bool {
	if strings.TrimSpace(v) == "" {
		c.add(path, "is required")
		return false
	}
	return true
}

func (c *checker) url(path, v string) {
	if !c.required(path, v) {
		return
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.add(path, "%q is not an http(s) URL", v)
	}
}

func (c *checker) unique(seen map[string]bool, path, v string) {
	if seen[v] {
		c.add(path, "%q is declared twice", v)
	}
	seen[v] = true
}

func (c *checker) policy(path string, p Policy, required bool) {
	if p.IsZero() {
		if required {
			c.add(path, "is required")
		}
		return
	}
	if _, err := iampolicy.Parse(p.JSON); err != nil {
		c.add(path, "%v", err)
	}
}

func (w *World) validate() []Problem {
	c := &checker{}
	if !accountRe.MatchString(w.AccountID) {
		c.add("account_id", "%q must be 12 digits", w.AccountID)
	}
	if !regionRe.MatchString(w.Region) {
		c.add("region", "%q is not a region such as us-east-1", w.Region)
	}
	w.validateIdP(c)
	w.validateIdentityCenter(c)
	w.validateIAM(c)
	w.validateS3(c)
	w.validateQuickSight(c)
	w.validateRedshift(c)
	w.validateQBusiness(c)
	w.validateAthena(c)
	return c.probs
}

func (w *World) validateIdP(c *checker) {
	c.url("idp.issuer", w.IdP.Issuer)
	seen := map[string]bool{}
	for i, cl := range w.IdP.Clients {
		p := fmt.Sprintf("idp.clients[%d]", i)
		if c.required(p+".client_id", cl.ClientID) {
			c.unique(seen, p+".client_id", cl.ClientID)
		}
		if !cl.Public && cl.ClientSecret == "" {
			c.add(p+".client_secret", "a confidential client needs a secret (or set public: true)")
		}
		if len(cl.RedirectURIs) == 0 {
			c.add(p+".redirect_uris", "needs at least one redirect URI")
		}
		for j, r := range cl.RedirectURIs {
			c.url(fmt.Sprintf("%s.redirect_uris[%d]", p, j), strings.Replace(r, ":*", "", 1))
		}
	}
	seen = map[string]bool{}
	for i, u := range w.IdP.Users {
		p := fmt.Sprintf("idp.users[%d]", i)
		if c.required(p+".email", u.Email) {
			if !strings.Contains(u.Email, "@") {
				c.add(p+".email", "%q is not an email address", u.Email)
			}
			c.unique(seen, p+".email", strings.ToLower(u.Email))
		}
		c.required(p+".password", u.Password)
	}
}

func (w *World) validateIdentityCenter(c *checker) {
	ic := &w.IdentityCenter
	if !strings.HasPrefix(ic.InstanceArn, "arn:aws:sso:::instance/ssoins-") {
		c.add("identity_center.instance_arn", "%q is not an instance ARN (arn:aws:sso:::instance/ssoins-…)", ic.InstanceArn)
	}
	if !strings.HasPrefix(ic.IdentityStoreID, "d-") {
		c.add("identity_center.identity_store_id", "%q is not an identity store id (d-…)", ic.IdentityStoreID)
	}
	users := map[string]bool{}
	for i, u := range ic.Users {
		p := fmt.Sprintf("identity_center.users[%d]", i)
		if c.required(p+".user_name", u.UserName) {
			c.unique(users, p+".user_name", u.UserName)
		}
		c.required(p+".email", u.Email)
	}
	groups := map[string]bool{}
	for i, g := range ic.Groups {
		p := fmt.Sprintf("identity_center.groups[%d]", i)
		if c.required(p+".name", g.Name) {
			c.unique(groups, p+".name", g.Name)
		}
		for j, m := range g.Members {
			if !users[m] {
				c.add(fmt.Sprintf("%s.members[%d]", p, j), "no identity-store user is named %q", m)
			}
		}
	}
	ttis := map[string]bool{}
	for i, t := range ic.TrustedTokenIssuers {
		p := fmt.Sprintf("identity_center.trusted_token_issuers[%d]", i)
		if c.required(p+".name", t.Name) {
			c.unique(ttis, p+".name", t.Name)
			ttis[t.Arn] = true
		}
		c.url(p+".issuer_url", t.IssuerURL)
		c.required(p+".claim_attribute_path", t.ClaimAttributePath)
		if c.required(p+".identity_store_attribute_path", t.IdentityStoreAttributePath) && !contains(StoreAttributePaths, t.IdentityStoreAttributePath) {
			c.add(p+".identity_store_attribute_path", "%q is not one of %s", t.IdentityStoreAttributePath, strings.Join(StoreAttributePaths, ", "))
		}
	}
	apps := map[string]bool{}
	for i, a := range ic.Applications {
		p := fmt.Sprintf("identity_center.applications[%d]", i)
		if c.required(p+".name", a.Name) {
			c.unique(apps, p+".name", a.Name)
		}
		if a.Status != "ENABLED" && a.Status != "DISABLED" {
			c.add(p+".status", "%q must be ENABLED or DISABLED", a.Status)
		}
		for j, g := range a.JWTBearer {
			gp := fmt.Sprintf("%s.jwt_bearer[%d]", p, j)
			if c.required(gp+".trusted_token_issuer", g.TrustedTokenIssuer) && !ttis[g.TrustedTokenIssuer] {
				c.add(gp+".trusted_token_issuer", "no trusted token issuer is named %q", g.TrustedTokenIssuer)
			}
			if len(g.Audiences) == 0 {
				c.add(gp+".audiences", "needs at least one audience")
			}
		}
		for j, as := range a.Assignments {
			ap := fmt.Sprintf("%s.assignments[%d]", p, j)
			switch as.PrincipalType {
			case "USER":
				if !users[as.Principal] {
					c.add(ap+".principal", "no identity-store user is named %q", as.Principal)
				}
			case "GROUP":
				if !groups[as.Principal] {
					c.add(ap+".principal", "no identity-store group is named %q", as.Principal)
				}
			default:
				c.add(ap+".principal_type", "%q must be USER or GROUP", as.PrincipalType)
			}
		}
		c.policy(p+".actor_policy", a.ActorPolicy, false)
	}
}

func (w *World) validateIAM(c *checker) {
	keys := map[string]bool{}
	names := map[string]bool{}
	for i, u := range w.IAM.Users {
		p := fmt.Sprintf("iam.users[%d]", i)
		if c.required(p+".name", u.Name) {
			c.unique(names, p+".name", u.Name)
		}
		for j, k := range u.AccessKeys {
			kp := fmt.Sprintf("%s.access_keys[%d]", p, j)
			if c.required(kp+".id", k.ID) {
				c.unique(keys, kp+".id", k.ID)
			}
			c.required(kp+".secret", k.Secret)
		}
		for j, pol := range u.Policies {
			c.policy(fmt.Sprintf("%s.policies[%d]", p, j), pol, true)
		}
	}
	urls := map[string]bool{}
	for i, o := range w.IAM.OIDCProviders {
		p := fmt.Sprintf("iam.oidc_providers[%d]", i)
		c.url(p+".url", o.URL)
		c.unique(urls, p+".url", o.URL)
		if len(o.ClientIDs) == 0 {
			c.add(p+".client_ids", "needs at least one client id (audience)")
		}
	}
	managed := map[string]bool{}
	for i, m := range w.IAM.ManagedPolicies {
		p := fmt.Sprintf("iam.managed_policies[%d]", i)
		if c.required(p+".name", m.Name) {
			c.unique(managed, p+".name", w.ManagedPolicyArn(m))
		}
		c.policy(p+".document", m.Document, true)
	}
	roles := map[string]bool{}
	for i, r := range w.IAM.Roles {
		p := fmt.Sprintf("iam.roles[%d]", i)
		if c.required(p+".name", r.Name) {
			if !roleNameRe.MatchString(r.Name) {
				c.add(p+".name", "%q is not a valid role name", r.Name)
			}
			c.unique(roles, p+".name", r.Name)
		}
		c.policy(p+".trust_policy", r.TrustPolicy, true)
		for j, pol := range r.Policies {
			c.policy(fmt.Sprintf("%s.policies[%d]", p, j), pol, true)
		}
		for j, pol := range r.InlinePolicies {
			pp := fmt.Sprintf("%s.inline_policies[%d]", p, j)
			c.required(pp+".name", pol.Name)
			c.policy(pp+".document", pol.Document, true)
		}
		for j, arn := range r.ManagedPolicies {
			if !managed[arn] {
				c.add(fmt.Sprintf("%s.managed_policies[%d]", p, j), "no managed policy has the ARN %q", arn)
			}
		}
		if r.MaxSessionDuration < 3600 || r.MaxSessionDuration > 43200 {
			c.add(p+".max_session_duration", "%d must be between 3600 and 43200 seconds", r.MaxSessionDuration)
		}
	}
}

func (w *World) validateS3(c *checker) {
	buckets := map[string]bool{}
	for i, b := range w.S3.Buckets {
		p := fmt.Sprintf("s3.buckets[%d]", i)
		if !bucketNameRe.MatchString(b.Name) {
			c.add(p+".name", "%q is not a valid bucket name", b.Name)
		}
		c.unique(buckets, p+".name", b.Name)
		for j, o := range b.Objects {
			c.required(fmt.Sprintf("%s.objects[%d].key", p, j), o.Key)
		}
	}
	if ag := w.S3.AccessGrants; ag.NoInstance && (len(ag.Locations) > 0 || len(ag.Grants) > 0) {
		c.add("s3.access_grants.no_instance", "an account without an Access Grants instance has no locations or grants")
	}
	users, groups := map[string]bool{}, map[string]bool{}
	for _, u := range w.IdentityCenter.Users {
		users[u.UserName] = true
	}
	for _, g := range w.IdentityCenter.Groups {
		groups[g.Name] = true
	}
	for i, l := range w.S3.AccessGrants.Locations {
		p := fmt.Sprintf("s3.access_grants.locations[%d]", i)
		if !strings.HasPrefix(l.Scope, "s3://") {
			c.add(p+".scope", "%q must be an S3 URI (s3://bucket/prefix*)", l.Scope)
		}
		if l.IAMRole != "" && !arnRe.MatchString(l.IAMRole) {
			c.add(p+".iam_role", "%q is not an ARN", l.IAMRole)
		}
	}
	for i, g := range w.S3.AccessGrants.Grants {
		p := fmt.Sprintf("s3.access_grants.grants[%d]", i)
		kind, name, _ := strings.Cut(g.Grantee, ":")
		switch kind {
		case "user":
			if !users[name] {
				c.add(p+".grantee", "no identity-store user is named %q", name)
			}
		case "group":
			if !groups[name] {
				c.add(p+".grantee", "no identity-store group is named %q", name)
			}
		case "iam":
			if !arnRe.MatchString(name) {
				c.add(p+".grantee", "%q is not an IAM principal ARN", name)
			}
		default:
			c.add(p+".grantee", "%q must be user:NAME, group:NAME or iam:ARN", g.Grantee)
		}
		if g.Permission != "READ" && g.Permission != "WRITE" && g.Permission != "READWRITE" {
			c.add(p+".permission", "%q must be READ, WRITE or READWRITE", g.Permission)
		}
		if !strings.HasPrefix(g.Target, "s3://") {
			c.add(p+".target", "%q must be an S3 URI (s3://bucket/prefix/*)", g.Target)
		}
	}
}

func contains(list []string, v string) bool {
	for _, e := range list {
		if e == v {
			return true
		}
	}
	return false
}
