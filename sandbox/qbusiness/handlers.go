package qbusiness

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/internal/lazyre"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/callctx"
	"github.com/tipctl/tipctl/sandbox/env"
)

// Handler serves the Q Business API (restJson1, signing name qbusiness).
type Handler struct {
	Env   *env.Env
	State *Service
}

// New builds the service and its wire handler.
func New(e *env.Env) *Handler { return &Handler{Env: e, State: NewService(e)} }

// MaxUserMessage bounds a question, in characters.
const MaxUserMessage = 7000

type call struct {
	r   *http.Request
	q   url.Values
	p   *auth.Principal
	app *Application
	// conv is the {conversationId} path segment, if any.
	conv string
	body []byte
}

type operation struct {
	method string
	// depth is the number of path segments: /applications[/{id}[/conversations[/{cid}]]].
	depth int
	sync  bool
	name  string
	// identityAware operations need an identity-enhanced session.
	identityAware bool
	h             func(h *Handler, c *call) (any, *awsproto.Error)
}

var operations = []operation{
	{"GET", 1, false, "ListApplications", false, (*Handler).listApplications},
	{"GET", 2, false, "GetApplication", false, (*Handler).getApplication},
	{"POST", 3, true, "ChatSync", true, (*Handler).chatSync},
	{"GET", 3, false, "ListConversations", true, (*Handler).listConversations},
	{"GET", 4, false, "ListMessages", true, (*Handler).listMessages},
	{"DELETE", 4, false, "DeleteConversation", true, (*Handler).deleteConversation},
}

var idRe = lazyre.New(`^[a-zA-Z0-9][a-zA-Z0-9-]{35}$`)

func validation(format string, a ...any) *awsproto.Error {
	e := awsproto.Errorf(http.StatusBadRequest, "ValidationException", format, a...)
	e.Fields = map[string]any{"reason": "FIELD_VALIDATION_FAILED"}
	return e
}

func notFound(kind, id, format string, a ...any) *awsproto.Error {
	e := awsproto.Errorf(http.StatusNotFound, "ResourceNotFoundException", format, a...)
	e.Fields = map[string]any{"resourceId": awsproto.Truncate(id, 64), "resourceType": kind}
	return e
}

func accessDenied(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusForbidden, "AccessDeniedException", format, a...)
}

// ServeHTTP routes /applications… to an operation, authenticates the
// caller and checks IAM, then the identity the operation needs.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rid := awsproto.NewRequestID()
	fail := func(e *awsproto.Error) { awsproto.WriteError(w, awsproto.RestJSON, e, rid) }
	seg := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	for i := range seg {
		u, err := url.PathUnescape(seg[i])
		if err != nil {
			fail(validation("the request path is not valid"))
			return
		}
		seg[i] = u
	}
	q := r.URL.Query()
	_, sync := q["sync"]
	var op *operation
	if len(seg) >= 1 && seg[0] == "applications" && (len(seg) < 3 || seg[2] == "conversations") {
		for i := range operations {
			o := &operations[i]
			if o.method == r.Method && o.depth == len(seg) && o.sync == sync {
				op = o
				break
			}
		}
	}
	if op == nil {
		fail(awsproto.Errorf(http.StatusNotFound, "UnknownOperationException", "Q Business has no operation at %s %s", r.Method, awsproto.Truncate(r.URL.Path, 200)))
		return
	}
	h.Env.Stats.Inc("qbusiness:" + op.name)
	callctx.SetOperation(r.Context(), op.name)
	body, e := awsproto.ReadBody(r, awsproto.MaxAPIBody)
	if e != nil {
		fail(e)
		return
	}
	p, e := h.Env.Authenticate(r, body, awsproto.VerifyOptions{})
	if e != nil {
		fail(awsproto.JSONAuthError(e, awsproto.RestJSON))
		return
	}
	c := &call{r: r, q: q, p: p, body: body}
	resource := "arn:aws:qbusiness:" + h.Env.World.Region + ":" + h.Env.World.AccountID + ":application/*"
	if len(seg) >= 2 {
		if !idRe.MatchString(seg[1]) {
			fail(validation("1 validation error detected: Value at 'applicationId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9][a-zA-Z0-9-]{35}"))
			return
		}
		app, ok := h.State.Application(seg[1])
		if !ok {
			fail(notFound("APPLICATION", seg[1], "The application %s doesn't exist.", seg[1]))
			return
		}
		c.app, resource = app, app.Arn
	}
	if len(seg) == 4 {
		if !idRe.MatchString(seg[3]) {
			fail(validation("1 validation error detected: Value at 'conversationId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9][a-zA-Z0-9-]{35}"))
			return
		}
		c.conv = seg[3]
	}
	x := iampolicy.Explanation{Decision: iampolicy.Allow}
	if !p.Admin {
		x = p.Explain("qbusiness:"+op.name, resource, nil)
	}
	if x.Decision != iampolicy.Allow {
		callctx.Deny(r.Context(), callctx.IdentityPolicy(p, "qbusiness:"+op.name, resource, x))
		fail(accessDenied("User: %s is not authorized to perform: qbusiness:%s on resource: %s", p.Arn, op.name, resource))
		return
	}
	if op.identityAware {
		if _, ok := PersonOf(p); !ok {
			callctx.Deny(r.Context(), callctx.Decision{Kind: KindIdentityAware, Action: "qbusiness:" + op.name, Resource: resource,
				Reason: p.Arn + " carries no Identity Center user; " + op.name + " answers only identity-enhanced sessions"})
			fail(accessDenied("%s needs identity-aware AWS SigV4 credentials for the IAM Identity Center user the call is made for; %s is not an identity-enhanced session. Call with credentials from sts:AssumeRole with an IdentityCenter provided context.", op.name, p.Arn))
			return
		}
		for _, k := range []string{"userId", "userGroups"} {
			if _, set := q[k]; set {
				fail(validation("%s must not be set: the user comes from the identity-aware credentials", k))
				return
			}
		}
	}
	out, e := op.h(h, c)
	if e != nil {
		fail(e)
		return
	}
	awsproto.WriteJSON(w, awsproto.RestJSON, http.StatusOK, out, rid)
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// page reads maxResults and nextToken (an offset) for a list of n items.
func page(q url.Values, n, max int) (from, to int, next *string, e *awsproto.Error) {
	size := max
	if v := q.Get("maxResults"); v != "" {
		m, err := strconv.Atoi(v)
		if err != nil || m < 1 || m > max {
			return 0, 0, nil, validation("1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value between 1 and %d", max)
		}
		size = m
	}
	if v := q.Get("nextToken"); v != "" {
		f, err := strconv.Atoi(v)
		if err != nil || f < 0 || f > n {
			return 0, 0, nil, validation("The nextToken is not valid; call again without it.")
		}
		from = f
	}
	to = min(n, from+size)
	if to < n {
		s := strconv.Itoa(to)
		next = &s
	}
	return from, to, next, nil
}

func (h *Handler) listApplications(c *call) (any, *awsproto.Error) {
	apps := h.State.Applications()
	from, to, next, e := page(c.q, len(apps), 100)
	if e != nil {
		return nil, e
	}
	list := []map[string]any{}
	for _, a := range apps[from:to] {
		list = append(list, map[string]any{"applicationId": a.ID, "displayName": a.Name, "status": "ACTIVE",
			"identityType": "AWS_IAM_IDC", "createdAt": epoch(a.Created), "updatedAt": epoch(a.Created)})
	}
	return map[string]any{"applications": list, "nextToken": next}, nil
}

func (h *Handler) getApplication(c *call) (any, *awsproto.Error) {
	a := c.app
	out := map[string]any{"applicationId": a.ID, "applicationArn": a.Arn, "displayName": a.Name, "status": "ACTIVE",
		"identityType": "AWS_IAM_IDC", "createdAt": epoch(a.Created), "updatedAt": epoch(a.Created)}
	if apps := h.Env.World.IdentityCenter.Applications; len(apps) > 0 {
		out["identityCenterApplicationArn"] = apps[0].Arn
	}
	return out, nil
}

func sources(srcs []Source) []map[string]any {
	out := []map[string]any{}
	for _, s := range srcs {
		out = append(out, map[string]any{"documentId": s.DocumentID, "title": s.Title, "snippet": s.Snippet,
			"citationNumber": s.Citation, "textMessageSegments": []map[string]any{{"beginOffset": s.Begin, "endOffset": s.End}}})
	}
	return out
}

func (h *Handler) chatSync(c *call) (any, *awsproto.Error) {
	var in struct {
		UserMessage    *string `json:"userMessage"`
		ConversationID *string `json:"conversationId"`
		ParentMessage  *string `json:"parentMessageId"`
		ChatMode       *string `json:"chatMode"`
		ClientToken    *string `json:"clientToken"`
	}
	if len(c.body) > 0 {
		if err := json.Unmarshal(c.body, &in); err != nil {
			e := validation("The request body is not valid JSON.")
			e.Fields["reason"] = "CANNOT_PARSE"
			return nil, e
		}
	}
	if in.ChatMode != nil && *in.ChatMode != "RETRIEVAL_MODE" {
		return nil, validation("The sandbox's Q Business answers only in RETRIEVAL_MODE (chatMode %q); send chatMode RETRIEVAL_MODE.", awsproto.Truncate(*in.ChatMode, 32))
	}
	if in.UserMessage == nil || strings.TrimSpace(*in.UserMessage) == "" {
		return nil, validation("userMessage is required in RETRIEVAL_MODE.")
	}
	if !utf8.ValidString(*in.UserMessage) || utf8.RuneCountInString(*in.UserMessage) > MaxUserMessage {
		return nil, validation("userMessage must be valid UTF-8 of at most %d characters.", MaxUserMessage)
	}
	conv := ""
	if in.ConversationID != nil {
		conv = *in.ConversationID
		if !idRe.MatchString(conv) {
			return nil, validation("1 validation error detected: Value at 'conversationId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9][a-zA-Z0-9-]{35}")
		}
	}
	pr, _ := PersonOf(c.p)
	cv, user, sys, err := h.State.Chat(c.app, pr, conv, *in.UserMessage)
	if d, ok := c.app.aclLimit(pr); ok && err == nil {
		callctx.Limit(c.r.Context(), d)
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, notFound("CONVERSATION", conv, "The conversation %s doesn't exist.", conv)
	case errors.Is(err, ErrFull):
		return nil, validation("The conversation %s has reached its limit of %d messages; start a new conversation.", conv, maxMessages)
	}
	return map[string]any{"conversationId": cv.ID, "systemMessage": sys.Body, "systemMessageId": sys.ID,
		"userMessageId": user.ID, "sourceAttributions": sources(sys.Sources), "failedAttachments": []any{}}, nil
}

func (h *Handler) listConversations(c *call) (any, *awsproto.Error) {
	pr, _ := PersonOf(c.p)
	convs := h.State.Conversations(c.app, pr)
	from, to, next, e := page(c.q, len(convs), 100)
	if e != nil {
		return nil, e
	}
	list := []map[string]any{}
	for _, cv := range convs[from:to] {
		list = append(list, map[string]any{"conversationId": cv.ID, "title": cv.Title, "startTime": epoch(cv.Start)})
	}
	return map[string]any{"conversations": list, "nextToken": next}, nil
}

func (h *Handler) listMessages(c *call) (any, *awsproto.Error) {
	pr, _ := PersonOf(c.p)
	msgs, err := h.State.Messages(c.app, pr, c.conv)
	if err != nil {
		return nil, notFound("CONVERSATION", c.conv, "The conversation %s doesn't exist.", c.conv)
	}
	from, to, next, e := page(c.q, len(msgs), 100)
	if e != nil {
		return nil, e
	}
	list := []map[string]any{}
	for _, m := range msgs[from:to] {
		item := map[string]any{"messageId": m.ID, "body": m.Body, "type": m.Type, "time": epoch(m.Time)}
		if m.Type == "SYSTEM" {
			item["sourceAttribution"] = sources(m.Sources)
		}
		list = append(list, item)
	}
	return map[string]any{"messages": list, "nextToken": next}, nil
}

func (h *Handler) deleteConversation(c *call) (any, *awsproto.Error) {
	pr, _ := PersonOf(c.p)
	if err := h.State.Delete(c.app, pr, c.conv); err != nil {
		return nil, notFound("CONVERSATION", c.conv, "The conversation %s doesn't exist.", c.conv)
	}
	return map[string]any{}, nil
}
