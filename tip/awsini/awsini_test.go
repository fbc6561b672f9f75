package awsini

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `# AWS config, hand-written
;  with both comment styles

[default]
region=eu-west-1
output = json

[profile  dev ]   
region   =   us-west-2
s3 =
    addressing_style = path
    max_concurrent_requests = 20
# trailing comment of dev

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1

[profile analytics]
# the old credentials helper
credential_process = /usr/local/bin/old-helper --profile analytics
  --extra-continued
region: eu-central-1
output = text

; a comment that belongs to the next section
[profile "quoted"]
region = ap-south-1
[services local]
s3 =
  endpoint_url = http://localhost:9000
`

func TestRoundTripAndRead(t *testing.T) {
	f := Parse([]byte(sample))
	if got := string(f.Bytes()); got != sample {
		t.Fatalf("round trip changed the file:\n%s", got)
	}
	if got := strings.Join(f.Profiles(), ","); got != "default,dev,analytics,quoted" {
		t.Fatalf("profiles %q", got)
	}
	for _, c := range []struct{ profile, key, want string }{
		{"default", "region", "eu-west-1"},
		{"dev", "region", "us-west-2"},
		{"dev", "s3", ""},
		{"analytics", "credential_process", "/usr/local/bin/old-helper --profile analytics"},
		{"analytics", "REGION", "eu-central-1"},
		{"quoted", "region", "ap-south-1"},
	} {
		if v, ok := f.Get(c.profile, c.key); !ok || v != c.want {
			t.Errorf("%s.%s = %q, %v; want %q", c.profile, c.key, v, ok, c.want)
		}
	}
	if _, ok := f.Get("corp", "sso_region"); ok {
		t.Error("an sso-session section was read as a profile")
	}
	if _, ok := f.Profile("local"); ok {
		t.Error("a services section was read as a profile")
	}
}

// section returns the text of profile name's section.
func sectionText(t *testing.T, data []byte, name string) (before, sec, after string) {
	t.Helper()
	f := Parse(data)
	s, ok := find(f.Sections(), name)
	if !ok {
		return string(data), "", ""
	}
	join := func(ls []string) string { return strings.Join(ls, "") }
	return join(f.lines[:s.Start]), join(f.lines[s.Start:s.End]), join(f.lines[s.End:])
}

func TestSetExistingProfileTouchesOnlyIt(t *testing.T) {
	f := Parse([]byte(sample))
	changed, err := f.SetProfile("analytics",
		KV{"credential_process", "tipctl auth get-iam-credentials --profile default"},
		KV{"region", "us-east-1"},
		KV{"endpoint_url", "http://127.0.0.1:4577"})
	if err != nil || !changed {
		t.Fatalf("SetProfile: %v %v", changed, err)
	}
	out := f.Bytes()
	b0, _, a0 := sectionText(t, []byte(sample), "analytics")
	b1, sec, a1 := sectionText(t, out, "analytics")
	if b0 != b1 || a0 != a1 {
		t.Fatalf("bytes outside the edited section changed:\n%s", out)
	}
	want := `[profile analytics]
# the old credentials helper
credential_process = tipctl auth get-iam-credentials --profile default
region: us-east-1
output = text
endpoint_url = http://127.0.0.1:4577

; a comment that belongs to the next section
`
	if sec != want {
		t.Fatalf("section:\n%s\nwant:\n%s", sec, want)
	}
	// Idempotent.
	again := Parse(out)
	changed, err = again.SetProfile("analytics",
		KV{"credential_process", "tipctl auth get-iam-credentials --profile default"},
		KV{"region", "us-east-1"},
		KV{"endpoint_url", "http://127.0.0.1:4577"})
	if err != nil || changed || !bytes.Equal(again.Bytes(), out) {
		t.Fatalf("second SetProfile changed the file: %v %v", changed, err)
	}
}

func TestSetNewProfileAppends(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"empty", "", "[profile x]\ncredential_process = a b\nregion = r\n"},
		{"no final newline", "[default]\nregion = r", "[default]\nregion = r\n\n[profile x]\ncredential_process = a b\nregion = r\n"},
		{"ends blank", "[default]\n\n", "[default]\n\n[profile x]\ncredential_process = a b\nregion = r\n"},
		{"crlf", "[default]\r\nregion = r\r\n", "[default]\r\nregion = r\r\n\r\n[profile x]\r\ncredential_process = a b\r\nregion = r\r\n"},
	} {
		f := Parse([]byte(c.in))
		if _, err := f.SetProfile("x", KV{"credential_process", "a b"}, KV{"region", "r"}); err != nil {
			t.Fatal(err)
		}
		if got := string(f.Bytes()); got != c.want {
			t.Errorf("%s: got %q want %q", c.name, got, c.want)
		}
	}
	f := Parse([]byte("[profile a]\nregion = r\n"))
	if _, err := f.SetProfile("default", KV{"region", "x"}); err != nil || !strings.HasSuffix(string(f.Bytes()), "\n[default]\nregion = x\n") {
		t.Fatalf("default profile: %q %v", f.Bytes(), err)
	}
}

func TestSetKeepsCRLFAndSpacing(t *testing.T) {
	in := "[profile a]\r\nregion=us-west-1\r\noutput = json\r\n[profile b]\r\nregion = x\r\n"
	f := Parse([]byte(in))
	if _, err := f.SetProfile("a", KV{"region", "us-east-1"}, KV{"credential_process", "tipctl"}); err != nil {
		t.Fatal(err)
	}
	want := "[profile a]\r\nregion=us-east-1\r\noutput = json\r\ncredential_process = tipctl\r\n[profile b]\r\nregion = x\r\n"
	if got := string(f.Bytes()); got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestNewKeyDoesNotSwallowAnIndentedHeader(t *testing.T) {
	in := "[profile a]\n  [profile b]\nregion = b\n"
	f := Parse([]byte(in))
	if _, err := f.SetProfile("a", KV{"region", "a"}); err != nil {
		t.Fatal(err)
	}
	g := Parse(f.Bytes())
	if v, _ := g.Get("b", "region"); v != "b" {
		t.Fatalf("profile b lost: %q", f.Bytes())
	}
	if v, _ := g.Get("a", "region"); v != "a" {
		t.Fatalf("profile a: %q", f.Bytes())
	}
}

func TestRejectsBadInput(t *testing.T) {
	f := Parse([]byte(sample))
	for _, c := range []struct {
		name string
		kv   KV
	}{
		{"ok", KV{"region", "a\nb"}},
		{"ok", KV{"region", "a\r"}},
		{"ok", KV{"Region", "x"}},
		{"ok", KV{"region", " x"}},
		{"with space", KV{"region", "x"}},
		{"a]b", KV{"region", "x"}},
		{"", KV{"region", "x"}},
	} {
		if _, err := f.SetProfile(c.name, c.kv); err == nil {
			t.Errorf("SetProfile(%q, %q) accepted", c.name, c.kv)
		}
	}
	if string(f.Bytes()) != sample {
		t.Fatal("a rejected edit changed the file")
	}
}

func TestDeleteKey(t *testing.T) {
	f := Parse([]byte(sample))
	if !f.DeleteKey("analytics", "credential_process") {
		t.Fatal("not deleted")
	}
	if _, ok := f.Get("analytics", "credential_process"); ok {
		t.Fatal("still there")
	}
	if strings.Contains(string(f.Bytes()), "--extra-continued") {
		t.Fatal("continuation line left behind")
	}
	if f.DeleteKey("analytics", "nope") || f.DeleteKey("nope", "region") {
		t.Fatal("deleted something absent")
	}
}

func TestDiff(t *testing.T) {
	if d := Diff("x", []byte(sample), []byte(sample)); d != "" {
		t.Fatalf("diff of equal files: %q", d)
	}
	f := Parse([]byte(sample))
	f.SetProfile("analytics", KV{"region", "us-east-1"}, KV{"endpoint_url", "http://e"})
	d := Diff("config", []byte(sample), f.Bytes())
	want := `--- config
+++ config
@@ -20,8 +20,9 @@
 # the old credentials helper
 credential_process = /usr/local/bin/old-helper --profile analytics
   --extra-continued
-region: eu-central-1
+region: us-east-1
 output = text
+endpoint_url = http://e
 
 ; a comment that belongs to the next section
 [profile "quoted"]
`
	if d != want {
		t.Fatalf("diff:\n%s\nwant:\n%s", d, want)
	}
	// Against the system diff when there is one: patch must reproduce new.
	if _, err := exec.LookPath("patch"); err == nil {
		dir := t.TempDir()
		p := filepath.Join(dir, "config")
		os.WriteFile(p, []byte(sample), 0o600)
		cmd := exec.Command("patch", "-s", p)
		cmd.Stdin = strings.NewReader(d)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("patch rejected the diff: %v %s", err, out)
		}
		if got, _ := os.ReadFile(p); !bytes.Equal(got, f.Bytes()) {
			t.Fatalf("patched file differs:\n%s", got)
		}
	}
	d = Diff("c", []byte("a"), []byte("a\n[profile x]\n"))
	if !strings.Contains(d, "-a\n\\ No newline at end of file\n+a\n+[profile x]\n") {
		t.Fatalf("no-newline diff:\n%s", d)
	}
}

func TestWriteFileKeepsModeAndSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "dotfiles", "aws-config")
	os.MkdirAll(filepath.Dir(real), 0o700)
	if err := os.WriteFile(real, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "config")
	if err := os.Symlink(real, link); err != nil {
		t.Skip("no symlinks here")
	}
	if err := WriteFile(link, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the symlink was replaced by a file")
	}
	st, _ := os.Stat(real)
	if b, _ := os.ReadFile(real); string(b) != "new" || st.Mode().Perm() != 0o640 {
		t.Fatalf("target: %q mode %v", b, st.Mode().Perm())
	}
	fresh := filepath.Join(dir, "new", ".aws", "config")
	if err := WriteFile(fresh, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(fresh); st.Mode().Perm() != 0o600 {
		t.Fatalf("new file mode %v", st.Mode().Perm())
	}
	if ents, _ := os.ReadDir(filepath.Dir(real)); len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
}

func TestConfigPath(t *testing.T) {
	env := map[string]string{"AWS_CONFIG_FILE": "/x/config"}
	if p, _ := ConfigPath(func(k string) string { return env[k] }); p != "/x/config" {
		t.Fatal(p)
	}
	home, _ := os.UserHomeDir()
	env["AWS_CONFIG_FILE"] = "~/cfg"
	if p, _ := ConfigPath(func(k string) string { return env[k] }); p != filepath.Join(home, "cfg") {
		t.Fatal(p)
	}
	if p, _ := CredentialsPath(func(string) string { return "" }); p != filepath.Join(home, ".aws", "credentials") {
		t.Fatal(p)
	}
}

// botocore, when installed, must read the edited file as we meant: the
// edited profile has the new values, every other profile is unchanged.
func TestBotocoreReadsTheEdit(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	if exec.Command(py, "-c", "import botocore").Run() != nil {
		t.Skip("botocore is not installed")
	}
	// botocore rejects lines like "--extra-continued" without a key only
	// when they are not continuations; the sample is valid for it.
	dir := t.TempDir()
	before := filepath.Join(dir, "before")
	after := filepath.Join(dir, "after")
	os.WriteFile(before, []byte(sample), 0o600)
	f := Parse([]byte(sample))
	f.SetProfile("analytics", KV{"credential_process", "tipctl auth get-iam-credentials --profile default"}, KV{"region", "us-east-1"})
	f.SetProfile("fresh", KV{"credential_process", "tipctl x"})
	os.WriteFile(after, f.Bytes(), 0o600)
	script := `import json, sys
from botocore.configloader import load_config
print(json.dumps([load_config(p)["profiles"] for p in sys.argv[1:]]))`
	out, err := exec.Command(py, "-c", script, before, after).Output()
	if err != nil {
		t.Fatalf("botocore: %v", err)
	}
	var res [2]map[string]map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	old, cur := res[0], res[1]
	if cur["analytics"]["credential_process"] != "tipctl auth get-iam-credentials --profile default" || cur["analytics"]["region"] != "us-east-1" {
		t.Fatalf("botocore reads analytics as %v", cur["analytics"])
	}
	if cur["fresh"]["credential_process"] != "tipctl x" {
		t.Fatalf("botocore reads fresh as %v", cur["fresh"])
	}
	for name, p := range old {
		if name == "analytics" {
			continue
		}
		a, _ := json.Marshal(p)
		b, _ := json.Marshal(cur[name])
		if !bytes.Equal(a, b) {
			t.Errorf("profile %s changed for botocore: %s -> %s", name, a, b)
		}
	}
}
