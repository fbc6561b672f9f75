package htmlpage

import (
	"html/template"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	rec := httptest.NewRecorder()
	Render(rec, 401, template.Must(template.New("p").Parse(`<p>{{.}}</p>`)), `<script>x</script>`)
	h := rec.Header()
	if rec.Code != 401 || h.Get("Cache-Control") != "no-store" || h.Get("X-Frame-Options") != "DENY" ||
		!strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") || h.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("status %d headers %v", rec.Code, h)
	}
	if body := rec.Body.String(); strings.Contains(body, "<script>") {
		t.Fatalf("data not escaped: %s", body)
	}
	// A failing template writes nothing of the page.
	rec = httptest.NewRecorder()
	Render(rec, 200, template.Must(template.New("p").Parse(`half{{.Missing}}`)), 1)
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "half") {
		t.Fatalf("template error: %d %q", rec.Code, rec.Body.String())
	}
}
