package idp

import (
	"html/template"
	"net/http"
)

type pageData struct {
	Title   string
	Message string
	Hint    string
	Failed  bool
}

// The loopback's answer page: self-contained (no external resources) and
// locked down by its Content-Security-Policy.
var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tipctl · {{.Title}}</title>
<style>
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; min-height: 100vh;
  display: grid; place-items: center; background: Canvas; color: CanvasText; }
main { max-width: 32rem; padding: 2rem 2.5rem; border-radius: 12px; border: 1px solid color-mix(in srgb, CanvasText 15%, transparent);
  box-shadow: 0 4px 24px color-mix(in srgb, CanvasText 8%, transparent); text-align: center; }
.mark { font-size: 2.5rem; line-height: 1; }
.ok .mark { color: var(--ok); } .bad .mark { color: var(--bad); }
h1 { font-size: 1.4rem; margin: .6rem 0; }
p { margin: .5rem 0; overflow-wrap: anywhere; }
.hint { opacity: .7; font-size: .9rem; }
</style></head>
<body><main class="{{if .Failed}}bad{{else}}ok{{end}}" data-outcome="{{if .Failed}}failed{{else}}signed-in{{end}}">
<div class="mark" aria-hidden="true">{{if .Failed}}&#x2715;{{else}}&#x2713;{{end}}</div>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{if .Hint}}<p class="hint">{{.Hint}}</p>{{end}}
</main></body></html>
`))

func renderPage(w http.ResponseWriter, status int, d pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, d)
}
