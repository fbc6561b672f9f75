package cloudtrail

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/callctx"
)

// DefaultSize is the default number of events kept in memory.
const DefaultSize = 5000

// Options configure a Recorder.
type Options struct {
	// Size bounds the events kept (DefaultSize when 0); older ones are dropped.
	Size int
	// Account and Region are the world's.
	Account, Region string
	// Now is the sandbox clock.
	Now func() time.Time
}

// lineage is what the recorder learned about a set of credentials when it
// recorded the call that issued them.
type lineage struct {
	created      time.Time
	parent       string
	chain        string
	credentialID string
	// person is the IdP user the chain started from (the id_token's email).
	person string
}

// Recorder keeps the newest events and follows credential chains.
type Recorder struct {
	opts    Options
	enabled atomic.Bool

	mu     sync.Mutex
	ring   []*Event
	next   int
	count  int
	seq    uint64
	subs   map[chan *Event]struct{}
	sinks  []func(*Event)
	keys   map[string]*lineage
	keyFIF []string
	// tokens maps an Identity Center identity context (as given to
	// AssumeRole ProvidedContexts) to the token's credential id and chain.
	tokens   map[string]lineage
	tokenFIF []string

	// Calls waiting to be built (see capture.go); buildMu keeps builds in
	// the order the calls ended.
	pmu      sync.Mutex
	pending  []*capture
	building bool
	buildMu  sync.Mutex
}

// New returns an enabled recorder.
func New(opts Options) *Recorder {
	if opts.Size <= 0 {
		opts.Size = DefaultSize
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Now().UTC() }
	}
	r := &Recorder{opts: opts, ring: make([]*Event, opts.Size), subs: map[chan *Event]struct{}{},
		keys: map[string]*lineage{}, tokens: map[string]lineage{}}
	r.enabled.Store(true)
	return r
}

// SetEnabled turns recording on or off.
func (r *Recorder) SetEnabled(on bool) { r.enabled.Store(on) }

// Enabled reports whether calls are recorded.
func (r *Recorder) Enabled() bool { return r.enabled.Load() }

// Size is the ring's capacity.
func (r *Recorder) Size() int { return r.opts.Size }

// OnEvent adds a sink called (outside the recorder's lock) for each event.
func (r *Recorder) OnEvent(f func(*Event)) {
	r.mu.Lock()
	r.sinks = append(r.sinks, f)
	r.mu.Unlock()
}

// Subscribe delivers new events on the returned channel until cancel; a
// slow subscriber misses events rather than slowing the sandbox.
func (r *Recorder) Subscribe() (<-chan *Event, func()) {
	ch := make(chan *Event, 256)
	r.mu.Lock()
	r.subs[ch] = struct{}{}
	r.mu.Unlock()
	return ch, func() {
		r.mu.Lock()
		delete(r.subs, ch)
		r.mu.Unlock()
	}
}

// Events returns the kept events, newest first, once every call that has
// returned is recorded (and built).
func (r *Recorder) Events() []*Event {
	r.Flush()
	r.mu.Lock()
	out := make([]*Event, 0, r.count)
	for i := 1; i <= r.count; i++ {
		out = append(out, r.ring[(r.next-i+len(r.ring))%len(r.ring)])
	}
	r.mu.Unlock()
	r.complete(out)
	return out
}

// observed reports whether anyone takes events as they come (the console's
// live timeline, a trail): then every event is built at once.
func (r *Recorder) observed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.subs) > 0 || len(r.sinks) > 0
}

// addUnbuilt keeps an event as its capture, unless someone takes events
// as they come (it must then be built): it reports whether it kept it.
func (r *Recorder) addUnbuilt(e *Event) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.subs) > 0 || len(r.sinks) > 0 {
		return false
	}
	r.insert(e)
	return true
}

func (r *Recorder) insert(e *Event) {
	r.seq++
	e.seq = r.seq
	r.ring[r.next] = e
	r.next = (r.next + 1) % len(r.ring)
	if r.count < len(r.ring) {
		r.count++
	}
}

func (r *Recorder) add(e *Event) {
	r.mu.Lock()
	r.insert(e)
	for ch := range r.subs {
		select {
		case ch <- e:
		default:
		}
	}
	sinks := r.sinks
	r.mu.Unlock()
	for _, f := range sinks {
		f(e)
	}
}

// maxKeys bounds the credential lineage kept.
func (r *Recorder) maxKeys() int { return 2 * r.opts.Size }

func (r *Recorder) lineageOf(akid string) *lineage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys[akid]
}

func (r *Recorder) remember(akid string, l *lineage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.keys[akid]; !ok {
		r.keyFIF = append(r.keyFIF, akid)
		if len(r.keyFIF) > r.maxKeys() {
			delete(r.keys, r.keyFIF[0])
			r.keyFIF = r.keyFIF[1:]
		}
	}
	r.keys[akid] = l
}

func (r *Recorder) rememberToken(identityContext string, l lineage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.tokens[identityContext]; !ok {
		r.tokenFIF = append(r.tokenFIF, identityContext)
		if len(r.tokenFIF) > 1024 {
			delete(r.tokens, r.tokenFIF[0])
			r.tokenFIF = r.tokenFIF[1:]
		}
	}
	r.tokens[identityContext] = l
}

func (r *Recorder) token(identityContext string) (lineage, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.tokens[identityContext]
	return l, ok
}

// issuing operations return credentials whose lineage is followed, so
// their replies are captured even though some read as read-only.
var issuing = map[string]bool{"AssumeRole": true, "AssumeRoleWithWebIdentity": true, "AssumeRoleWithSAML": true,
	"GetDataAccess": true, "CreateTokenWithIAM": true, "GetSessionToken": true, "GetFederationToken": true, "GetRoleCredentials": true}

// Serve runs h for one call to service and records it.
func (r *Recorder) Serve(service string, h http.Handler, w http.ResponseWriter, req *http.Request) {
	if !r.enabled.Load() {
		h.ServeHTTP(w, req)
		return
	}
	ctx, info := callctx.New(req.Context())
	req = req.WithContext(ctx)
	var tee *teeBody
	if service != "s3" && req.Body != nil && req.Body != http.NoBody {
		tee = &teeBody{rc: req.Body}
		req.Body = tee
	}
	var name string
	op := func() string {
		if name == "" {
			if name = info.Operation(); name == "" {
				name = fallbackOperation(req, tee)
			}
		}
		return name
	}
	rw := &writer{ResponseWriter: w, status: http.StatusOK}
	rw.capture = func(status int) bool {
		if service == "s3" && status < 300 {
			return false
		}
		o := op()
		return status >= 300 || issuing[o] || !readOnly(o)
	}
	h.ServeHTTP(rw, req)
	c := &capture{service: service, op: op(), now: r.opts.Now(), method: req.Method, host: req.Host, remoteAddr: req.RemoteAddr,
		userAgent: req.UserAgent(), url: *req.URL, reqType: req.Header.Get("Content-Type"), status: rw.status, capOn: rw.capOn,
		respOver: rw.over, respBody: rw.buf, code: rw.code, message: rw.message, respType: rw.Header().Get("Content-Type"),
		requestID: requestID(rw.Header()), snap: info.Snapshot()}
	if tee != nil {
		c.teed = true
		if !tee.over {
			c.reqBody = tee.buf
		}
	}
	r.enqueue(c)
}

// fallbackOperation names a call no handler named: the X-Amz-Target
// operation, the awsQuery Action, or the method and path.
func fallbackOperation(req *http.Request, tee *teeBody) string {
	if t := req.Header.Get("X-Amz-Target"); t != "" {
		return clean(t[strings.LastIndex(t, ".")+1:], 128)
	}
	if a := req.URL.Query().Get("Action"); a != "" {
		return clean(a, 128)
	}
	if tee != nil && strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if f, err := url.ParseQuery(string(tee.buf)); err == nil && f.Get("Action") != "" {
			return clean(f.Get("Action"), 128)
		}
	}
	return clean(req.Method+" "+req.URL.Path, 128)
}

// readOnly guesses from the operation's verb, as AWS's own flag follows it.
func readOnly(op string) bool {
	for _, v := range []string{"Get", "List", "Describe", "Lookup", "Head", "Search", "BatchGet", "Select"} {
		if strings.HasPrefix(op, v) {
			return true
		}
	}
	return false
}

// sources maps routing names whose event source is not <name>.amazonaws.com.
var sources = map[string]string{"s3control": "s3.amazonaws.com", "sso": "sso.amazonaws.com", "idp": "idp"}

func eventSource(service string) string {
	if s, ok := sources[service]; ok {
		return s
	}
	return service + ".amazonaws.com"
}

// dataOperation reports S3 object-level operations, logged as data events.
func dataOperation(service, op string) bool {
	return service == "s3" && (strings.Contains(op, "Object") || strings.Contains(op, "Multipart") || strings.Contains(op, "Part"))
}

// build makes the event of a captured call.
func (r *Recorder) build(c *capture) *Event {
	snap := c.snap
	now, op, service := c.now, c.op, c.service
	p := snap.Principal
	callerLin := c.callerLin
	rec := Record{
		EventVersion: EventVersion, EventTime: now.Format(time.RFC3339), EventSource: eventSource(service),
		EventName: op, AwsRegion: r.opts.Region, SourceIPAddress: sourceIP(c.remoteAddr), UserAgent: clean(c.userAgent, 1024),
		RequestID: c.requestID, EventID: awsproto.NewRequestID(), ReadOnly: readOnly(op),
		EventType: "AwsApiCall", ManagementEvent: true, RecipientAccountID: r.opts.Account, EventCategory: "Management",
	}
	if rec.RequestID == "" {
		rec.RequestID = awsproto.NewRequestID()
	}
	if dataOperation(service, op) {
		rec.ManagementEvent, rec.EventCategory = false, "Data"
	}
	rec.UserIdentity = userIdentity(p, callerLin, r.opts.Account)
	if p != nil && rec.UserIdentity.OnBehalfOf != nil {
		rec.UserIdentity.OnBehalfOf.IdentityStoreArn = identityStoreArn(r.opts.Account, p.Context.IdentityStoreID)
	}
	ev := &Event{Time: now, Service: service, Decision: snap.Decision, Limits: snap.Limits}

	// requestParameters
	var reqBody map[string]any
	if c.reqBody != nil {
		reqBody = bodyElements(c.reqBody, c.reqType)
	}
	switch {
	case snap.Request != nil:
		rec.RequestParameters = snap.Request
	case service == "s3":
		rec.RequestParameters, rec.Resources = s3Elements(&c.url, c.host, r.opts.Account)
	default:
		m := map[string]any{}
		for k, v := range reqBody {
			m[k] = v
		}
		for k, vs := range c.url.Query() {
			if len(vs) > 0 && !strings.HasPrefix(strings.ToLower(k), "x-amz-") && k != "Action" && k != "Version" && len(k) < 128 {
				m[lowerFirst(k)] = vs[0]
			}
		}
		if len(m) > 0 {
			rec.RequestParameters = m
		}
	}
	if p == nil && op == "AssumeRoleWithWebIdentity" && reqBody != nil {
		if tok, _ := reqBody["webIdentityToken"].(string); tok != "" {
			if c := jwtClaims(tok); c != nil {
				ev.Claims = maskClaims(c)
				rec.UserIdentity = webIdentityUser(c)
				ev.Person, _ = c["email"].(string)
			}
		}
	}

	// responseElements, errors
	var resp map[string]any
	switch {
	case !c.capOn || c.respOver || c.status >= 300:
	case rec.ReadOnly && snap.Response == nil:
		// A read-only call that vends credentials logs only their key id
		// and expiration (found without decoding the reply).
		if akid := fieldIn(c.respBody, "AccessKeyId"); akid != "" {
			resp = map[string]any{"credentials": map[string]any{"accessKeyId": akid, "expiration": fieldIn(c.respBody, "Expiration")}}
		}
	default:
		resp = bodyElements(c.respBody, c.respType)
	}
	if c.status >= 300 {
		rec.ErrorCode, rec.ErrorMessage = c.code, c.message
		if rec.ErrorCode == "" {
			rec.ErrorCode, rec.ErrorMessage = errorFromBody(c.respBody, c.status)
		}
		rec.ErrorMessage = clean(rec.ErrorMessage, 2048)
	}
	describe(ev, c, reqBody, resp)
	switch {
	case snap.Response != nil:
		rec.ResponseElements = snap.Response
	case resp != nil && (!rec.ReadOnly || issuing[op]):
		rec.ResponseElements = redact(resp).(map[string]any)
	}
	if rec.RequestParameters != nil {
		rec.RequestParameters = redact(rec.RequestParameters).(map[string]any)
	}
	if len(snap.Additions) > 0 || snap.Decision != nil || len(snap.Limits) > 0 {
		rec.AdditionalEventData = map[string]any{}
		for k, v := range snap.Additions {
			rec.AdditionalEventData[k] = v
		}
		if snap.Decision != nil {
			rec.AdditionalEventData["tipctlDecision"] = snap.Decision
		}
		if len(snap.Limits) > 0 {
			rec.AdditionalEventData["tipctlLimits"] = snap.Limits
		}
	}
	if p != nil && p.Context != nil && ev.Person == "" {
		ev.Person = p.Context.Email
		if ev.Person == "" {
			ev.Person = p.Context.UserName
		}
	}
	ev.summarize(&rec)
	return ev
}

// describe adds what the sandbox knows of the call's chain: the person,
// the token claims it exchanged, the credentials it issued (c.issued and
// c.chain, learnt in call order, see learn).
func describe(ev *Event, c *capture, reqBody, resp map[string]any) {
	if lin := c.callerLin; lin != nil && ev.Person == "" {
		ev.Person = lin.person
	}
	if c.op == "CreateTokenWithIAM" && resp != nil {
		if tok, _ := resp["idToken"].(string); tok != "" {
			if cl := jwtClaims(tok); cl != nil {
				ev.Claims = maskClaims(cl)
				if e, _ := cl["email"].(string); e != "" {
					ev.Person = e
				}
			}
		}
	}
	if c.op == "AssumeRole" && reqBody != nil {
		if lst, ok := reqBody["providedContexts"].([]any); ok {
			for _, x := range lst {
				m, _ := x.(map[string]any)
				a, _ := m["contextAssertion"].(string)
				if cl := jwtClaims(a); cl != nil && ev.Claims == nil {
					ev.Claims = maskClaims(cl)
				}
			}
		}
	}
	ev.Chain, ev.Issued = c.chain, c.issued
}

func webIdentityUser(c map[string]any) *UserIdentity {
	iss, _ := c["iss"].(string)
	sub, _ := c["sub"].(string)
	aud := ""
	switch a := c["aud"].(type) {
	case string:
		aud = a
	case []any:
		if len(a) > 0 {
			aud, _ = a[0].(string)
		}
	}
	host := strings.TrimPrefix(strings.TrimPrefix(iss, "https://"), "http://")
	return &UserIdentity{Type: "WebIdentityUser", PrincipalID: host + ":" + aud + ":" + sub, UserName: sub}
}

func s3Elements(u *url.URL, host, account string) (map[string]any, []Resource) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	m := map[string]any{"Host": clean(host, 256)}
	var res []Resource
	if bucket != "" {
		m["bucketName"] = bucket
	}
	if key != "" {
		m["key"] = key
		res = append(res, Resource{Type: "AWS::S3::Object", ARN: "arn:aws:s3:::" + bucket + "/" + key})
	}
	if bucket != "" {
		res = append(res, Resource{Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::" + bucket, AccountID: account})
	}
	for k, vs := range u.Query() {
		if len(vs) > 0 && !strings.HasPrefix(strings.ToLower(k), "x-amz-") && k != "x-id" && len(k) < 128 {
			m[k] = vs[0]
		}
	}
	return m, res
}

func sourceIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return clean(remoteAddr, 64)
	}
	return host
}

func requestID(h http.Header) string {
	for _, k := range []string{"X-Amzn-Requestid", "X-Amz-Request-Id"} {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// errorFromBody finds the error code of a reply no awsproto.WriteError wrote.
func errorFromBody(b []byte, status int) (string, string) {
	m := bodyElements(b, "")
	if m != nil {
		for _, k := range []string{"code", "__type", "error"} {
			if v, ok := m[k].(string); ok && v != "" {
				msg, _ := m["message"].(string)
				if msg == "" {
					msg, _ = m["error_description"].(string)
				}
				if i := strings.LastIndex(v, "#"); i >= 0 {
					v = v[i+1:]
				}
				return v, msg
			}
		}
		if e, ok := m["error"].(map[string]any); ok {
			c, _ := e["code"].(string)
			msg, _ := e["message"].(string)
			return c, msg
		}
	}
	return http.StatusText(status), ""
}
