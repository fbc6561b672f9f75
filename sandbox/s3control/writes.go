package s3control

import (
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/internal/lazyre"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/world"
)

// route is one S3 Control operation under /v20180820/accessgrantsinstance.
type route struct {
	method, path string // path "" is the instance; a trailing "/" takes an id
	op           string
}

var routes = []route{
	{"GET", "", "GetAccessGrantsInstance"},
	{"POST", "", "CreateAccessGrantsInstance"},
	{"DELETE", "", "DeleteAccessGrantsInstance"},
	{"GET", "/../instances", "ListAccessGrantsInstances"},
	{"POST", "/identitycenter", "AssociateAccessGrantsIdentityCenter"},
	{"DELETE", "/identitycenter", "DissociateAccessGrantsIdentityCenter"},
	{"GET", "/prefix", "GetAccessGrantsInstanceForPrefix"},
	{"PUT", "/resourcepolicy", "PutAccessGrantsInstanceResourcePolicy"},
	{"GET", "/resourcepolicy", "GetAccessGrantsInstanceResourcePolicy"},
	{"DELETE", "/resourcepolicy", "DeleteAccessGrantsInstanceResourcePolicy"},
	{"GET", "/dataaccess", "GetDataAccess"},
	{"GET", "/grants", "ListAccessGrants"},
	{"POST", "/grant", "CreateAccessGrant"},
	{"GET", "/grant/", "GetAccessGrant"},
	{"DELETE", "/grant/", "DeleteAccessGrant"},
	{"GET", "/locations", "ListAccessGrantsLocations"},
	{"POST", "/location", "CreateAccessGrantsLocation"},
	{"GET", "/location/", "GetAccessGrantsLocation"},
	{"DELETE", "/location/", "DeleteAccessGrantsLocation"},
	{"GET", "/caller/grants", "ListCallerAccessGrants"},
}

var idRe = lazyre.New(`^[a-zA-Z0-9\-]+$`)

// resolve finds the operation of a request; id is the {id} path member.
func resolve(method, rest string) (op, id string) {
	if rest == "/" {
		rest = ""
	}
	for _, r := range routes {
		if r.method != method {
			continue
		}
		if strings.HasSuffix(r.path, "/") {
			if v, ok := strings.CutPrefix(rest, r.path); ok && idRe.MatchString(v) {
				return r.op, v
			}
		} else if rest == r.path {
			return r.op, ""
		}
	}
	return "", ""
}

type handlerFunc func(h *Handler, c *call, id string)

var reads = map[string]handlerFunc{
	"GetDataAccess":                         func(h *Handler, c *call, _ string) { h.getDataAccess(c) },
	"GetAccessGrantsInstance":               func(h *Handler, c *call, _ string) { h.getInstance(c) },
	"ListAccessGrants":                      func(h *Handler, c *call, _ string) { h.listGrants(c) },
	"GetAccessGrant":                        (*Handler).getGrant,
	"ListAccessGrantsLocations":             func(h *Handler, c *call, _ string) { h.listLocations(c) },
	"GetAccessGrantsLocation":               (*Handler).getLocation,
	"ListCallerAccessGrants":                func(h *Handler, c *call, _ string) { h.listCallerGrants(c) },
	"ListAccessGrantsInstances":             func(h *Handler, c *call, _ string) { h.listInstances(c) },
	"GetAccessGrantsInstanceForPrefix":      func(h *Handler, c *call, _ string) { h.instanceForPrefix(c) },
	"GetAccessGrantsInstanceResourcePolicy": func(h *Handler, c *call, _ string) { h.getResourcePolicy(c) },
}

var writes = map[string]handlerFunc{
	"CreateAccessGrantsInstance":               (*Handler).createInstance,
	"DeleteAccessGrantsInstance":               (*Handler).deleteInstance,
	"AssociateAccessGrantsIdentityCenter":      (*Handler).associate,
	"DissociateAccessGrantsIdentityCenter":     (*Handler).dissociate,
	"PutAccessGrantsInstanceResourcePolicy":    (*Handler).putResourcePolicy,
	"DeleteAccessGrantsInstanceResourcePolicy": (*Handler).deleteResourcePolicy,
	"CreateAccessGrantsLocation":               (*Handler).createLocation,
	"DeleteAccessGrantsLocation":               (*Handler).deleteLocation,
	"CreateAccessGrant":                        (*Handler).createGrant,
	"DeleteAccessGrant":                        (*Handler).deleteGrant,
}

const ns = "http://awss3control.amazonaws.com/doc/2018-08-20/"

func noInstance(account string) *awsproto.Error {
	return awsproto.Errorf(http.StatusNotFound, "AccessGrantsInstanceNotExistsError",
		"Access Grants Instance does not exist in account %s; create one with CreateAccessGrantsInstance", account)
}

func conflict(code, format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusConflict, code, format, a...)
}

// decode reads the request's XML body into v (MalformedXML when it is not).
func (c *call) decode(v any) *awsproto.Error {
	if len(c.body) == 0 {
		return awsproto.Errorf(http.StatusBadRequest, "MissingRequestBodyError", "Request Body is empty")
	}
	if err := xml.Unmarshal(c.body, v); err != nil {
		return awsproto.Errorf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	return nil
}

// change authorizes action on the instance and applies f to a copy of the
// world; the reply is written by ok after the change is installed.
func (h *Handler) change(c *call, action, resource string, f func(w *world.World) *awsproto.Error, ok func()) {
	if e := c.authorize(action, resource); e != nil {
		c.fail(e)
		return
	}
	if e := h.Env.Change(f); e != nil {
		c.fail(e)
		return
	}
	h.Env.Read(ok)
}

func needInstance(w *world.World) *awsproto.Error {
	if w.S3.AccessGrants.NoInstance {
		return noInstance(w.AccountID)
	}
	return nil
}

var ssoInstanceRe = lazyre.New(`^arn:[^:]+:sso::(\d{12}){0,1}:instance/.*$`)

type instanceResult struct {
	XMLName                      xml.Name
	CreatedAt                    string `xml:"CreatedAt"`
	AccessGrantsInstanceID       string `xml:"AccessGrantsInstanceId"`
	AccessGrantsInstanceArn      string `xml:"AccessGrantsInstanceArn"`
	IdentityCenterArn            string `xml:"IdentityCenterArn,omitempty"`
	IdentityCenterInstanceArn    string `xml:"IdentityCenterInstanceArn,omitempty"`
	IdentityCenterApplicationArn string `xml:"IdentityCenterApplicationArn,omitempty"`
}

func (h *Handler) instanceResult(name string) instanceResult {
	in := h.State.Instance
	return instanceResult{XMLName: xml.Name{Space: ns, Local: name}, CreatedAt: awsproto.ISOTime(in.Created),
		AccessGrantsInstanceID: in.ID, AccessGrantsInstanceArn: in.Arn, IdentityCenterArn: in.ApplicationArn,
		IdentityCenterInstanceArn: in.IdentityCenterArn, IdentityCenterApplicationArn: in.ApplicationArn}
}

// identityCenter validates an IdentityCenterArn member naming the world's instance.
func identityCenter(w *world.World, arn string) *awsproto.Error {
	if !ssoInstanceRe.MatchString(arn) {
		return invalid("IdentityCenterArn %q is not an IAM Identity Center instance ARN", awsproto.Truncate(arn, 200))
	}
	if arn != w.IdentityCenter.InstanceArn {
		return invalid("IAM Identity Center instance %s does not exist in this account (it has %s)", awsproto.Truncate(arn, 200), w.IdentityCenter.InstanceArn)
	}
	return nil
}

func (h *Handler) createInstance(c *call, _ string) {
	var req struct {
		IdentityCenterArn string `xml:"IdentityCenterArn"`
	}
	if len(c.body) > 0 {
		if e := c.decode(&req); e != nil {
			c.fail(e)
			return
		}
	}
	h.change(c, "s3:CreateAccessGrantsInstance", h.State.InstanceArn(), func(w *world.World) *awsproto.Error {
		ag := &w.S3.AccessGrants
		if !ag.NoInstance {
			return conflict("AccessGrantsInstanceAlreadyExistsError", "Access Grants Instance already exists in account %s", w.AccountID)
		}
		*ag = world.AccessGrants{NoIdentityCenter: true}
		if req.IdentityCenterArn != "" {
			if e := identityCenter(w, req.IdentityCenterArn); e != nil {
				return e
			}
			ag.NoIdentityCenter, ag.IdentityCenterArn = false, req.IdentityCenterArn
		}
		return nil
	}, func() { c.reply(h.instanceResult("CreateAccessGrantsInstanceResult")) })
}

func (h *Handler) deleteInstance(c *call, _ string) {
	h.change(c, "s3:DeleteAccessGrantsInstance", h.State.InstanceArn(), func(w *world.World) *awsproto.Error {
		if e := needInstance(w); e != nil {
			return e
		}
		ag := &w.S3.AccessGrants
		if len(ag.Locations) > 0 || len(ag.Grants) > 0 {
			return conflict("AccessGrantsInstanceNotEmptyError", "Please delete access grants and locations before deleting the access grants instance")
		}
		*ag = world.AccessGrants{NoInstance: true, NoIdentityCenter: true}
		return nil
	}, func() { c.empty() })
}

func (h *Handler) associate(c *call, _ string) {
	var req struct {
		IdentityCenterArn string `xml:"IdentityCenterArn"`
	}
	if e := c.decode(&req); e != nil {
		c.fail(e)
		return
	}
	h.change(c, "s3:AssociateAccessGrantsIdentityCenter", h.State.InstanceArn(), func(w *world.World) *awsproto.Error {
		if e := needInstance(w); e != nil {
			return e
		}
		if e := identityCenter(w, req.IdentityCenterArn); e != nil {
			return e
		}
		ag := &w.S3.AccessGrants
		ag.NoIdentityCenter, ag.IdentityCenterArn = false, req.IdentityCenterArn
		return nil
	}, func() { c.empty() })
}

func (h *Handler) dissociate(c *call, _ string) {
	h.change(c, "s3:DissociateAccessGrantsIdentityCenter", h.State.InstanceArn(), func(w *world.World) *awsproto.Error {
		if e := needInstance(w); e != nil {
			return e
		}
		ag := &w.S3.AccessGrants
		for _, g := range ag.Grants {
			if !strings.HasPrefix(g.Grantee, "iam:") {
				return conflict("AccessGrantsInstanceResourceInUse", "The directory grant %s still needs Identity Center; delete it first", g.ID)
			}
		}
		ag.NoIdentityCenter, ag.IdentityCenterArn = true, ""
		return nil
	}, func() { c.empty() })
}

type policyResult struct {
	XMLName   xml.Name
	Policy    string `xml:"Policy"`
	CreatedAt string `xml:"CreatedAt"`
}

func (h *Handler) putResourcePolicy(c *call, _ string) {
	var req struct {
		Policy string `xml:"Policy"`
	}
	if e := c.decode(&req); e != nil {
		c.fail(e)
		return
	}
	if _, err := iampolicy.Parse([]byte(req.Policy)); err != nil {
		c.fail(awsproto.Errorf(http.StatusBadRequest, "MalformedPolicy", "Policy has invalid resource: %v", err))
		return
	}
	h.change(c, "s3:PutAccessGrantsInstanceResourcePolicy", h.State.InstanceArn(), func(w *world.World) *awsproto.Error {
		if e := needInstance(w); e != nil {
			return e
		}
		w.S3.AccessGrants.ResourcePolicy = world.Policy{JSON: []byte(req.Policy)}
		return nil
	}, func() {
		c.reply(policyResult{XMLName: xml.Name{Space: ns, Local: "PutAccessGrantsInstanceResourcePolicyResult"}, Policy: req.Policy,
			CreatedAt: awsproto.ISOTime(h.Env.Now())})
	})
}

func (h *Handler) getResourcePolicy(c *call) {
	in := h.State.Instance
	if e := c.authorize("s3:GetAccessGrantsInstanceResourcePolicy", in.Arn); e != nil {
		c.fail(e)
		return
	}
	if in.ResourcePolicy == "" {
		c.fail(awsproto.Errorf(http.StatusNotFound, "AccessGrantsInstanceResourcePolicyNotExists", "The Access Grants instance has no resource policy"))
		return
	}
	c.reply(policyResult{XMLName: xml.Name{Space: ns, Local: "GetAccessGrantsInstanceResourcePolicyResult"}, Policy: in.ResourcePolicy,
		CreatedAt: awsproto.ISOTime(in.Created)})
}

func (h *Handler) deleteResourcePolicy(c *call, _ string) {
	h.change(c, "s3:DeleteAccessGrantsInstanceResourcePolicy", h.State.InstanceArn(), func(w *world.World) *awsproto.Error {
		if e := needInstance(w); e != nil {
			return e
		}
		w.S3.AccessGrants.ResourcePolicy = world.Policy{}
		return nil
	}, func() { c.empty() })
}

func (h *Handler) listInstances(c *call) {
	if e := c.authorize("s3:ListAccessGrantsInstances", h.State.InstanceArn()); e != nil {
		c.fail(e)
		return
	}
	out := struct {
		XMLName   xml.Name         `xml:"http://awss3control.amazonaws.com/doc/2018-08-20/ ListAccessGrantsInstancesResult"`
		Instances []instanceResult `xml:"AccessGrantsInstancesList>AccessGrantsInstance"`
	}{Instances: []instanceResult{}}
	if h.State.Instance.Exists {
		out.Instances = append(out.Instances, h.instanceResult("AccessGrantsInstance"))
	}
	c.reply(out)
}

func (h *Handler) instanceForPrefix(c *call) {
	in := h.State.Instance
	if e := c.authorize("s3:GetAccessGrantsInstanceForPrefix", in.Arn); e != nil {
		c.fail(e)
		return
	}
	prefix := c.r.URL.Query().Get("s3prefix")
	if prefix == "" {
		c.fail(invalid("the s3prefix query parameter is required"))
		return
	}
	path, ok := scopePath(prefix)
	if !ok {
		c.fail(invalid("s3prefix %q is not an S3 prefix (s3://bucket/prefix)", awsproto.Truncate(prefix, 200)))
		return
	}
	for _, l := range h.State.Locations {
		if strings.HasPrefix(path, l.path) {
			c.reply(struct {
				XMLName xml.Name `xml:"http://awss3control.amazonaws.com/doc/2018-08-20/ GetAccessGrantsInstanceForPrefixResult"`
				Arn     string   `xml:"AccessGrantsInstanceArn"`
				ID      string   `xml:"AccessGrantsInstanceId"`
			}{Arn: in.Arn, ID: in.ID})
			return
		}
	}
	c.fail(awsproto.Errorf(http.StatusNotFound, "AccessGrantsLocationNotFound", "No Access Grants location contains %s", awsproto.Truncate(prefix, 200)))
}

var roleArnRe = lazyre.New(`^arn:[^:]+:iam::\d{12}:role/.*$`)

func (h *Handler) createLocation(c *call, _ string) {
	var req struct {
		LocationScope string `xml:"LocationScope"`
		IAMRoleArn    string `xml:"IAMRoleArn"`
	}
	if e := c.decode(&req); e != nil {
		c.fail(e)
		return
	}
	if _, ok := scopePath(req.LocationScope); !ok || req.LocationScope == "" {
		c.fail(invalid("LocationScope %q is not an S3 location scope (s3://, s3://bucket or s3://bucket/prefix*)", awsproto.Truncate(req.LocationScope, 200)))
		return
	}
	if !roleArnRe.MatchString(req.IAMRoleArn) {
		c.fail(invalid("IAMRoleArn %q is not an IAM role ARN", awsproto.Truncate(req.IAMRoleArn, 200)))
		return
	}
	var id string
	h.change(c, "s3:CreateAccessGrantsLocation", h.State.InstanceArn(), func(w *world.World) *awsproto.Error {
		if e := needInstance(w); e != nil {
			return e
		}
		ag := &w.S3.AccessGrants
		for _, l := range ag.Locations {
			if l.Scope == req.LocationScope {
				return conflict("AccessGrantsLocationAlreadyExistsError", "The Access Grants location %s already exists", req.LocationScope)
			}
		}
		id = "default"
		if req.LocationScope != "s3://" {
			id = world.RandomUUID()
		}
		ag.Locations = append(ag.Locations, world.Location{ID: id, Scope: req.LocationScope, IAMRole: req.IAMRoleArn})
		return nil
	}, func() {
		l, _ := h.State.Location(id)
		e := locEntry(l)
		c.reply(struct {
			XMLName xml.Name `xml:"http://awss3control.amazonaws.com/doc/2018-08-20/ CreateAccessGrantsLocationResult"`
			locationEntry
		}{locationEntry: e})
	})
}

func (h *Handler) deleteLocation(c *call, id string) {
	h.change(c, "s3:DeleteAccessGrantsLocation", h.State.InstanceArn()+"/location/"+id, func(w *world.World) *awsproto.Error {
		if e := needInstance(w); e != nil {
			return e
		}
		ag := &w.S3.AccessGrants
		for _, g := range ag.Grants {
			if l, ok := h.State.Location(id); ok && strings.HasPrefix(g.Target, strings.TrimSuffix(l.Scope, "*")) {
				if gr, ok := h.State.Grant(g.ID); ok && gr.LocationID == id {
					return conflict("AccessGrantsLocationNotEmptyError", "Please delete access grants before deleting access grants location %s", id)
				}
			}
		}
		n := len(ag.Locations)
		ag.Locations = world.Remove(ag.Locations, func(l *world.Location) bool { return l.ID == id })
		if len(ag.Locations) == n {
			return awsproto.Errorf(http.StatusNotFound, "AccessGrantsLocationNotFound", "The Access Grants location %s does not exist", id)
		}
		return nil
	}, func() { c.empty() })
}

func (h *Handler) createGrant(c *call, _ string) {
	var req struct {
		AccessGrantsLocationID string `xml:"AccessGrantsLocationId"`
		Config                 *struct {
			S3SubPrefix string `xml:"S3SubPrefix"`
		} `xml:"AccessGrantsLocationConfiguration"`
		Grantee struct {
			GranteeType       string `xml:"GranteeType"`
			GranteeIdentifier string `xml:"GranteeIdentifier"`
		} `xml:"Grantee"`
		Permission   string `xml:"Permission"`
		S3PrefixType string `xml:"S3PrefixType"`
	}
	if e := c.decode(&req); e != nil {
		c.fail(e)
		return
	}
	switch {
	case req.Permission != Read && req.Permission != Write && req.Permission != ReadWrite:
		c.fail(invalid("Permission must be READ, WRITE or READWRITE, not %q", awsproto.Truncate(req.Permission, 40)))
		return
	case req.Grantee.GranteeIdentifier == "":
		c.fail(invalid("Grantee.GranteeIdentifier is required"))
		return
	case req.S3PrefixType != "" && req.S3PrefixType != "Object":
		c.fail(invalid("S3PrefixType must be Object or omitted"))
		return
	}
	sub := ""
	if req.Config != nil {
		sub = req.Config.S3SubPrefix
	}
	var id string
	h.change(c, "s3:CreateAccessGrant", h.State.InstanceArn(), func(w *world.World) *awsproto.Error {
		if e := needInstance(w); e != nil {
			return e
		}
		loc, ok := h.State.Location(req.AccessGrantsLocationID)
		if !ok {
			return awsproto.Errorf(http.StatusNotFound, "AccessGrantsLocationNotFound", "The Access Grants location %s does not exist", awsproto.Truncate(req.AccessGrantsLocationID, 80))
		}
		grantee, e := granteeOf(w, req.Grantee.GranteeType, req.Grantee.GranteeIdentifier)
		if e != nil {
			return e
		}
		target := strings.TrimSuffix(loc.Scope, "*") + sub
		if loc.Scope != "s3://" && sub != "" && !strings.HasSuffix(strings.TrimSuffix(loc.Scope, "*"), "/") {
			target = strings.TrimSuffix(loc.Scope, "*") + "/" + sub
		}
		ag := &w.S3.AccessGrants
		for _, g := range ag.Grants {
			if g.Grantee == grantee && g.Permission == req.Permission && g.Target == target {
				return conflict("AccessGrantAlreadyExists", "An access grant for %s with %s on %s already exists (%s)", grantee, g.Permission, target, g.ID)
			}
		}
		id = world.RandomUUID()
		ag.Grants = append(ag.Grants, world.Grant{ID: id, Grantee: grantee, Permission: req.Permission, Target: target})
		return nil
	}, func() {
		g, _ := h.State.Grant(id)
		c.reply(struct {
			XMLName xml.Name `xml:"http://awss3control.amazonaws.com/doc/2018-08-20/ CreateAccessGrantResult"`
			grantEntry
		}{grantEntry: entry(g)})
	})
}

// granteeOf turns a modeled grantee into the world's user:/group:/iam: form.
func granteeOf(w *world.World, typ, id string) (string, *awsproto.Error) {
	ic := &w.IdentityCenter
	switch typ {
	case DirectoryUser:
		if u := ic.UserByID(id); u != nil {
			return "user:" + u.UserName, nil
		}
	case DirectoryGroup:
		if g := ic.GroupByID(id); g != nil {
			return "group:" + g.Name, nil
		}
	case IAMGrantee:
		if strings.HasPrefix(id, "arn:aws:iam::") {
			return "iam:" + id, nil
		}
		return "", invalid("an IAM grantee is a principal ARN, not %q", awsproto.Truncate(id, 200))
	default:
		return "", invalid("GranteeType must be DIRECTORY_USER, DIRECTORY_GROUP or IAM, not %q", awsproto.Truncate(typ, 40))
	}
	if w.S3.AccessGrants.NoIdentityCenter {
		return "", invalid("the Access Grants instance is not associated with IAM Identity Center, so it has no directory grantees")
	}
	return "", invalid("%s %s does not exist in identity store %s", strings.ToLower(strings.TrimPrefix(typ, "DIRECTORY_")), awsproto.Truncate(id, 80), ic.IdentityStoreID)
}

func (h *Handler) deleteGrant(c *call, id string) {
	h.change(c, "s3:DeleteAccessGrant", h.State.InstanceArn()+"/grant/"+id, func(w *world.World) *awsproto.Error {
		if e := needInstance(w); e != nil {
			return e
		}
		ag := &w.S3.AccessGrants
		n := len(ag.Grants)
		ag.Grants = world.Remove(ag.Grants, func(g *world.Grant) bool { return g.ID == id })
		if len(ag.Grants) == n {
			return awsproto.Errorf(http.StatusNotFound, "AccessGrantNotFound", "The access grant %s does not exist", id)
		}
		return nil
	}, func() { c.empty() })
}

// empty writes the 204-free empty reply of a write with no output.
func (c *call) empty() {
	awsproto.SetRequestIDHeaders(c.w, awsproto.RestXMLWrapped, c.rid)
	c.w.WriteHeader(http.StatusOK)
}
