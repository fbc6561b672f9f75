package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/tipctl/tipctl/tip/awsconf"
	"github.com/tipctl/tipctl/tip/broker"
	"github.com/tipctl/tipctl/tip/quicksight"
)

// replica is one instance of the application: its own broker (in-process
// state, its own Redis connection) behind its own listener.
type replica struct {
	n        int
	cfg      *settings
	broker   *broker.Broker
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	cookies  *cookies
	log      *slog.Logger
}

// settings are what all replicas share.
type settings struct {
	account  string
	endpoint string // AWS endpoint override ("" for AWS)
	base     aws.Config
	admin    aws.Config // the application's own credentials (QuickSight listing and identity context)
	provider *oidc.Provider
	// qsNamespace holds the people's QuickSight users; directory caches
	// their ARNs.
	qsNamespace string
	directory   userDirectory
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>tipctl webapp</title>
<style>body{font-family:sans-serif;max-width:52em;margin:2em auto}td,th{padding:.2em .8em;text-align:left}.muted{color:#666}</style></head>
<body>
<p class="muted">replica {{.Replica}}</p>
{{if not .Email}}
<h1>Data as yourself</h1>
<p>Sign in to see the S3 prefixes and QuickSight dashboards you may use, with your own identity-enhanced AWS session.</p>
<p><a href="/login">Sign in</a></p>
{{else}}
<h1>Hello {{.Name}}</h1>
<p>Signed in as <b id="email">{{.Email}}</b>. Identity Center user <code id="idc-user">{{.UserID}}</code>,
AWS session <code id="session">{{.Session}}</code> ({{if .Cached}}from the shared cache{{else}}just exchanged{{end}}).
<a href="/logout">Sign out</a></p>
<h2>S3 prefixes you may read (S3 Access Grants)</h2>
{{if .GrantsError}}<p id="grants-error">{{.GrantsError}}</p>{{else}}
<table id="grants"><tr><th>scope</th><th>permission</th></tr>
{{range .Grants}}<tr class="grant"><td>{{.Scope}}</td><td>{{.Permission}}</td></tr>{{else}}<tr><td colspan="2">none</td></tr>{{end}}
</table>{{end}}
<h2>QuickSight</h2>
{{if .QuickSightError}}<p id="quicksight-error">{{.QuickSightError}}</p>{{else}}
<p>Your QuickSight session: <code id="qs-session">{{.QuickSightSession}}</code>. Snapshots of these dashboards taken with it show the rows your row-level security allows.</p>
<ul id="dashboards">{{range .Dashboards}}<li class="dashboard">{{.}}</li>{{end}}</ul>{{end}}
{{end}}
</body></html>`))

type grant struct{ Scope, Permission string }

type view struct {
	Replica                            int
	Email, Name, UserID, Session       string
	Cached                             bool
	Grants                             []grant
	GrantsError                        string
	Dashboards                         []string
	QuickSightSession, QuickSightError string
}

func (rp *replica) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", rp.home)
	mux.HandleFunc("GET /login", rp.login)
	mux.HandleFunc("GET /callback", rp.callback)
	mux.HandleFunc("GET /logout", rp.logout)
	mux.HandleFunc("GET /debug/vars", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"replica\": %d, \"broker\": %s}\n", rp.n, rp.broker.Metrics().Map.String())
	})
	return mux
}

func (rp *replica) login(w http.ResponseWriter, r *http.Request) {
	st := loginState{State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier()}
	if err := rp.cookies.set(w, "login", st, 10*time.Minute); err != nil {
		http.Error(w, "cannot start the login", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, rp.oauth.AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)), http.StatusFound)
}

func (rp *replica) callback(w http.ResponseWriter, r *http.Request) {
	var st loginState
	if err := rp.cookies.get(r, "login", &st); err != nil || r.URL.Query().Get("state") != st.State {
		http.Error(w, "this login was not started here or has expired; sign in again", http.StatusBadRequest)
		return
	}
	clearCookie(w, "login")
	if e := r.URL.Query().Get("error"); e != "" {
		http.Error(w, "the identity provider refused the login", http.StatusForbidden)
		return
	}
	tok, err := rp.oauth.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		rp.log.Warn("code exchange failed", "error", err.Error())
		http.Error(w, "the login could not be completed", http.StatusBadGateway)
		return
	}
	ws, err := rp.sessionOf(r.Context(), tok, "")
	if err != nil || ws.nonce != st.Nonce {
		http.Error(w, "the identity provider's id_token is not valid", http.StatusForbidden)
		return
	}
	if err := rp.cookies.set(w, "session", ws.webSession, 12*time.Hour); err != nil {
		http.Error(w, "cannot keep the session", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/", http.StatusFound)
}

type verifiedSession struct {
	webSession
	nonce string
}

// sessionOf verifies the id_token of tok and returns the session to keep.
func (rp *replica) sessionOf(ctx context.Context, tok *oauth2.Token, oldRefresh string) (*verifiedSession, error) {
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	var claims struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil {
		return nil, err
	}
	rt := tok.RefreshToken
	if rt == "" {
		rt = oldRefresh
	}
	return &verifiedSession{webSession{IDToken: raw, RefreshToken: rt, Expiry: idt.Expiry, Email: claims.Email, Name: claims.Name}, idt.Nonce}, nil
}

func (rp *replica) logout(w http.ResponseWriter, r *http.Request) {
	var ws webSession
	if rp.cookies.get(r, "session", &ws) == nil {
		if err := rp.broker.Logout(r.Context(), ws.IDToken); err != nil {
			rp.log.Warn("broker logout", "error", err.Error())
		}
	}
	clearCookie(w, "session")
	http.Redirect(w, r, "/", http.StatusFound)
}

// tokens keeps a person's tokens through a request: the broker may ask for
// a fresh id_token, and the refreshed tokens go back into the cookie.
type tokens struct {
	rp      *replica
	mu      sync.Mutex
	ws      webSession
	changed bool
}

func (t *tokens) refresh(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ws.RefreshToken == "" {
		return "", errors.New("no refresh token: sign in again")
	}
	tok, err := t.rp.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: t.ws.RefreshToken, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		return "", err
	}
	vs, err := t.rp.sessionOf(ctx, tok, t.ws.RefreshToken)
	if err != nil {
		return "", err
	}
	t.ws, t.changed = vs.webSession, true
	return t.ws.IDToken, nil
}

func (rp *replica) home(w http.ResponseWriter, r *http.Request) {
	v := view{Replica: rp.n}
	var ws webSession
	if rp.cookies.get(r, "session", &ws) != nil {
		rp.render(w, v)
		return
	}
	ctx := r.Context()
	tk := &tokens{rp: rp, ws: ws}
	if time.Until(ws.Expiry) < 2*time.Minute {
		if _, err := tk.refresh(ctx); err != nil {
			clearCookie(w, "session")
			http.Redirect(w, r, "/login", http.StatusFound)
			return
		}
	}
	s, err := rp.broker.Credentials(ctx, broker.User{IDToken: tk.ws.IDToken, Refresh: tk.refresh})
	if tk.changed {
		_ = rp.cookies.set(w, "session", tk.ws, 12*time.Hour)
	}
	if err != nil {
		rp.log.Warn("identity-enhanced credentials", "email", ws.Email, "error", err.Error())
		http.Error(w, "your AWS session could not be made: "+oneLine(err.Error()), http.StatusBadGateway)
		return
	}
	v.Email, v.Name, v.UserID, v.Session, v.Cached = tk.ws.Email, tk.ws.Name, s.UserID, s.AssumedRoleArn, s.Cached
	v.Grants, err = rp.grants(ctx, tk)
	if err != nil {
		v.GrantsError = oneLine(err.Error())
	}
	rp.quickSight(ctx, tk.ws.Email, &v)
	rp.render(w, v)
}

func (rp *replica) render(w http.ResponseWriter, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, v); err != nil {
		rp.log.Warn("render", "error", err.Error())
	}
}

// grants lists the person's S3 Access Grants with their own session.
func (rp *replica) grants(ctx context.Context, tk *tokens) ([]grant, error) {
	cfg := rp.cfg.base.Copy()
	cfg.Credentials = rp.broker.Provider(broker.User{IDToken: tk.ws.IDToken, Refresh: tk.refresh})
	c := s3control.NewFromConfig(cfg, awsconf.S3ControlOptions(rp.cfg.endpoint))
	out, err := c.ListCallerAccessGrants(ctx, &s3control.ListCallerAccessGrantsInput{AccountId: aws.String(rp.cfg.account)})
	if err != nil {
		return nil, err
	}
	var gs []grant
	for _, g := range out.CallerAccessGrantsList {
		gs = append(gs, grant{Scope: aws.ToString(g.GrantScope), Permission: string(g.Permission)})
	}
	return gs, nil
}

// quickSight makes the person's QuickSight identity session through the
// broker and lists the dashboards they may open.
func (rp *replica) quickSight(ctx context.Context, email string, v *view) {
	s, err := rp.broker.QuickSight(ctx, quicksight.User{Email: email})
	if err != nil {
		v.QuickSightError = oneLine(err.Error())
		return
	}
	v.QuickSightSession = s.AssumedRoleArn
	v.Dashboards, err = rp.dashboardsOf(ctx, email)
	if err != nil {
		v.QuickSightError = oneLine(err.Error())
	}
}

// oneLine keeps the first line of an error, without control characters.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
