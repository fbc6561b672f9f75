// Package htmlpage writes the sandbox's sign-in pages (the IdP's and
// Identity Center's) with the headers a page that takes a password needs:
// never cached, never framed, no referrer, no script.
package htmlpage

import (
	"bytes"
	"html/template"
	"net/http"
)

// Render executes tmpl with data and writes it with status. A template
// error writes a plain 500 and nothing of the page.
func Render(w http.ResponseWriter, status int, tmpl *template.Template, data any) {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
