package quicksight

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tipctl/tipctl/internal/lazyre"
	"github.com/tipctl/tipctl/tip/awsconf"
)

// downloader fetches a job's files into one directory, naming them after
// what they hold: <sheet>.pdf, <visual>.csv, <dashboard>.xlsx.
type downloader struct {
	r         *runner
	dir       string
	dashboard string
	mu        sync.Mutex
	used      map[string]bool
	s3c       *s3.Client
}

// downloaders are shared per directory so names stay unique across jobs.
func (r *runner) newDownloader(dir, dashboard string) *downloader {
	cfg := r.AWS.Copy()
	cfg.Credentials = r.Session
	switch {
	case r.S3 != nil:
		cfg = r.S3.Copy()
	case r.Admin != nil:
		cfg = r.Admin.Copy()
	}
	pathStyle := cfg.BaseEndpoint != nil // emulators and custom endpoints
	return &downloader{r: r, dir: dir, dashboard: dashboard, used: map[string]bool{},
		s3c: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle })}
}

var unsafeChars = lazyre.New(`[^A-Za-z0-9._-]+`)

// safeName makes s usable as one path element.
func safeName(s string) string {
	s = strings.Trim(unsafeChars.ReplaceAllString(s, "-"), ".-")
	if len(s) > 100 {
		s = s[:100]
	}
	if s == "" {
		s = "file"
	}
	return s
}

// name picks a unique file name for a result.
func (dl *downloader) name(f ResultFile) string {
	var base, ext string
	switch f.Format {
	case FormatPDF:
		base, ext = f.Sheet, ".pdf"
	case FormatCSV:
		if len(f.Visuals) > 0 {
			base = f.Visuals[0]
		}
		ext = ".csv"
	case FormatExcel:
		base, ext = dl.dashboard, ".xlsx"
	}
	if base == "" {
		p := f.URI
		if u, err := url.Parse(f.URI); err == nil {
			p = u.Path
		}
		b := path.Base(p)
		ext = path.Ext(b)
		base = strings.TrimSuffix(b, ext)
	}
	base, ext = safeName(base), strings.ToLower(unsafeChars.ReplaceAllString(ext, ""))
	if ext != "" {
		ext = "." + strings.TrimPrefix(ext, ".")
	}
	dl.mu.Lock()
	defer dl.mu.Unlock()
	name := base + ext
	for i := 2; dl.used[name]; i++ {
		name = fmt.Sprintf("%s-%d%s", base, i, ext)
	}
	dl.used[name] = true
	return name
}

// fetchAll downloads every file; it stops at the first error.
func (dl *downloader) fetchAll(ctx context.Context, results []ResultFile) ([]FileResult, error) {
	if err := os.MkdirAll(dl.dir, 0o700); err != nil {
		return nil, errorf(KindInput, "choose another --out directory", "cannot create %s: %v", dl.dir, err)
	}
	var out []FileResult
	for _, f := range results {
		if f.Error != nil || f.URI == "" {
			continue
		}
		p := filepath.Join(dl.dir, dl.name(f))
		n, err := dl.fetch(ctx, f.URI, p)
		if err != nil {
			return out, err
		}
		src := f.URI
		if !strings.HasPrefix(src, "s3://") {
			src = "download URL"
		}
		out = append(out, FileResult{Path: p, Format: f.Format, Sheet: f.Sheet, Visuals: f.Visuals, Source: src, Bytes: n})
		dl.r.say("saved %s (%d bytes)", p, n)
	}
	return out, nil
}

// fetch writes one result to path (through a temporary file).
func (dl *downloader) fetch(ctx context.Context, uri, dest string) (int64, error) {
	var body io.ReadCloser
	switch {
	case strings.HasPrefix(uri, "s3://"):
		bucket, key, ok := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
		if !ok || bucket == "" || key == "" {
			return 0, errorf(KindAWS, "", "QuickSight returned a malformed S3 URI %q", uri)
		}
		out, err := dl.s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			e := serviceError("s3:GetObject "+uri, err)
			if qe, ok := e.(*Error); ok && qe.Kind == KindAccess {
				qe.Fix = "the credentials that read the results need s3:GetObject on the bucket; give tipctl administrator credentials (base_aws_profile) or leave --bucket out to download through QuickSight"
			}
			return 0, e
		}
		body = out.Body
	case strings.HasPrefix(uri, "https://") || strings.HasPrefix(uri, "http://"):
		req, err := http.NewRequestWithContext(awsconf.WithSecretURL(ctx), http.MethodGet, uri, nil)
		if err != nil {
			return 0, errorf(KindAWS, "", "QuickSight returned a malformed download URL")
		}
		var hc aws.HTTPClient = http.DefaultClient
		if dl.r.AWS.HTTPClient != nil {
			hc = dl.r.AWS.HTTPClient
		}
		resp, err := hc.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				ue.URL = "(the download URL)" // it is a credential: never print it
			}
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return 0, &Error{Kind: KindAWS, Msg: fmt.Sprintf("downloading a result file: HTTP %d", resp.StatusCode),
				Fix: "download URLs are valid for a few minutes; run `tipctl quicksight snapshot-status JOB --download` to get new ones"}
		}
		body = resp.Body
	default:
		return 0, errorf(KindAWS, "", "QuickSight returned a result location tipctl cannot read: %q", uri)
	}
	defer body.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dest), ".tipctl-download-*")
	if err != nil {
		return 0, errorf(KindInput, "choose another --out directory", "cannot write in %s: %v", filepath.Dir(dest), err)
	}
	n, err := io.Copy(tmp, body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dest)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return 0, fmt.Errorf("saving %s: %w", dest, err)
	}
	return n, nil
}
