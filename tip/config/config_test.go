package config

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func isolate(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv(EnvHome, "")
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv(EnvProfile, "")
	return home
}

func TestPaths(t *testing.T) {
	home := isolate(t)
	d, err := Paths()
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if want := filepath.Join(home, ".config", "tipctl"); d.Config != want {
			t.Errorf("Config = %s, want %s", d.Config, want)
		}
		if want := filepath.Join(home, ".local", "state", "tipctl"); d.State != want {
			t.Errorf("State = %s, want %s", d.State, want)
		}
	}
	if d.ConfigFile() != filepath.Join(d.Config, "config.yaml") {
		t.Errorf("ConfigFile = %s", d.ConfigFile())
	}

	xc, xs := t.TempDir(), t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", xc)
	t.Setenv("XDG_STATE_HOME", xs)
	d, _ = Paths()
	if d.Config != filepath.Join(xc, "tipctl") || d.State != filepath.Join(xs, "tipctl") {
		t.Errorf("XDG: got %+v", d)
	}

	// Relative XDG values are ignored (XDG spec).
	t.Setenv("XDG_CONFIG_HOME", "relative/dir")
	d, _ = Paths()
	if !filepath.IsAbs(d.Config) || strings.Contains(d.Config, "relative") {
		t.Errorf("relative XDG_CONFIG_HOME was used: %s", d.Config)
	}

	th := t.TempDir()
	t.Setenv(EnvHome, th)
	d, _ = Paths()
	if d.Config != th || d.State != filepath.Join(th, "state") {
		t.Errorf("TIPCTL_HOME: got %+v", d)
	}
	if d.ConfigFile() != filepath.Join(th, "config.yaml") {
		t.Errorf("TIPCTL_HOME config file: %s", d.ConfigFile())
	}
}

func TestSelect(t *testing.T) {
	isolate(t)
	if got := Select(""); got != "default" {
		t.Errorf("Select(\"\") = %q, want default", got)
	}
	t.Setenv(EnvProfile, "from-env")
	if got := Select(""); got != "from-env" {
		t.Errorf("env: got %q", got)
	}
	if got := Select("from-flag"); got != "from-flag" {
		t.Errorf("flag must win over env: got %q", got)
	}
}

func sandboxProfile(t *testing.T, name string) *Profile {
	t.Helper()
	p, missing, err := BuildProfile("sandbox", map[string]string{"endpoint_url": "http://127.0.0.1:4566", "name": name})
	if err != nil || len(missing) > 0 {
		t.Fatalf("BuildProfile sandbox: %v missing=%v", err, missing)
	}
	return p
}

func TestSaveLoadRoundTripAndPermissions(t *testing.T) {
	isolate(t)
	th := filepath.Join(t.TempDir(), "home") // does not exist yet
	t.Setenv(EnvHome, th)

	cfg, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Exists() || len(cfg.List()) != 0 {
		t.Fatal("fresh config should be empty")
	}
	okta, missing, err := BuildProfile("okta", map[string]string{
		"org_url": "https://dev-123456.okta.com", "client_id": "0oa1b2c3", "client_secret_ref": "store:profile/work/client-secret",
		"application_arn":   "arn:aws:sso::111122223333:application/ssoins-1111222233334444/apl-aaaabbbbccccdddd",
		"bridge_role_arn":   "arn:aws:iam::111122223333:role/tip/bridge",
		"enhanced_role_arn": "arn:aws:iam::111122223333:role/enhanced", "region": "eu-west-1",
		"scopes": "openid email offline_access", "redirect_port": "8090", "enhanced_session_seconds": "1800",
		"role_session_name": "tip-{email}", "base_aws_profile": "admin",
	})
	if err != nil || len(missing) > 0 {
		t.Fatalf("BuildProfile: %v %v", err, missing)
	}
	okta.Name = "work"
	if err := cfg.Set(okta); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Set(sandboxProfile(t, "default")); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Save(); err != nil {
		t.Fatal(err)
	}

	st, err := os.Stat(th)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if st.Mode().Perm() != 0o700 {
			t.Errorf("config dir mode %o, want 700", st.Mode().Perm())
		}
		fst, err := os.Stat(filepath.Join(th, "config.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if fst.Mode().Perm() != 0o600 {
			t.Errorf("config file mode %o, want 600", fst.Mode().Perm())
		}
	}
	entries, _ := os.ReadDir(th)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temp file left behind: %s", e.Name())
		}
	}

	again, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := again.Names(); strings.Join(got, ",") != "default,work" {
		t.Fatalf("names = %v", got)
	}
	w, err := again.Get("work")
	if err != nil {
		t.Fatal(err)
	}
	if w.Issuer != "https://dev-123456.okta.com/oauth2/default" || w.ClientID != "0oa1b2c3" || w.RedirectPort != 8090 ||
		w.EnhancedSession().Seconds() != 1800 || w.BridgeSession().Seconds() != 900 || strings.Join(w.Scopes, " ") != "openid email offline_access" ||
		w.BridgeRoleARN != "arn:aws:iam::111122223333:role/tip/bridge" || w.BaseAWSProfile != "admin" || w.ClientSecretRef != "store:profile/work/client-secret" {
		t.Errorf("round trip lost data: %+v", w)
	}
	d, _ := again.Get("default")
	if d.SandboxAdminKeyID != "test" || d.EndpointURL != "http://127.0.0.1:4566" {
		t.Errorf("sandbox profile: %+v", d)
	}

	// Get returns a copy: mutating it does not change the config.
	w.Region = "xx"
	if w2, _ := again.Get("work"); w2.Region != "eu-west-1" {
		t.Error("Get must return a copy")
	}

	if err := again.Delete("work"); err != nil {
		t.Fatal(err)
	}
	if err := again.Save(); err != nil {
		t.Fatal(err)
	}
	third, _ := Load()
	if _, err := third.Get("work"); !errors.Is(err, ErrProfileNotFound) {
		t.Errorf("deleted profile still there: %v", err)
	}
	if err := third.Delete("work"); !errors.Is(err, ErrProfileNotFound) {
		t.Errorf("Delete of a missing profile: %v", err)
	}
}

func TestGetNotFoundMessage(t *testing.T) {
	isolate(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	cfg, _ := LoadFile(path)
	_, err := cfg.Get("x")
	var pe *ProfileError
	if !errors.As(err, &pe) || !errors.Is(err, ErrProfileNotFound) || errors.Is(err, ErrProfileInvalid) {
		t.Fatalf("want *ProfileError not-found, got %T %v", err, err)
	}
	msg := err.Error()
	for _, want := range []string{`profile "x" not found`, path, "tipctl configure idp --profile x", "no profiles"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if err := cfg.Set(sandboxProfile(t, "dev")); err != nil {
		t.Fatal(err)
	}
	_, err = cfg.Get("x")
	if msg := err.Error(); !strings.Contains(msg, "dev") || !strings.Contains(msg, "tipctl configure list") {
		t.Errorf("message should list known profiles and `tipctl configure list`: %q", msg)
	}
}

func TestInvalidProfileInFileReportsLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	yaml := `version: 1
profiles:
  broken:
    provider: okta
    issuer: http://dev-1.okta.com/oauth2/default
    client_id: abc
    application_arn: arn:aws:sso:::instance/ssoins-1111222233334444
    bridge_role_arn: arn:aws:sts::111122223333:assumed-role/bridge/me
    enhanced_role_arn: arn:aws:iam::1111:role/enhanced
    region: useast1
    enhanced_session_seconds: 60
    idp_endpoints:
      token: ftp://x/token
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadFile(path)
	if err != nil {
		t.Fatalf("an invalid profile must not make the whole file unreadable: %v", err)
	}
	_, err = cfg.Get("broken")
	if !errors.Is(err, ErrProfileInvalid) {
		t.Fatalf("want ErrProfileInvalid, got %v", err)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a *ValidationError inside, got %T", err)
	}
	lines := map[string]int{}
	for _, p := range ve.Problems {
		lines[p.Field] = p.Line
	}
	want := map[string]int{"issuer": 5, "application_arn": 7, "bridge_role_arn": 8, "enhanced_role_arn": 9, "region": 10, "enhanced_session_seconds": 11, "idp_endpoints.token": 13}
	for f, l := range want {
		if lines[f] != l {
			t.Errorf("problem for %s at line %d, want %d (all: %v)", f, lines[f], l, ve.Problems)
		}
	}
	msg := err.Error()
	for _, s := range []string{`profile "broken"`, path, "must use https", "instance ARN", "assumed-role", "12 digits", "not an AWS region", "out of range", "tipctl configure idp --profile broken"} {
		if !strings.Contains(msg, s) {
			t.Errorf("message lacks %q:\n%s", s, msg)
		}
	}
	// The invalid profile can still be looked up for editing.
	if p, ok := cfg.Lookup("broken"); !ok || p.ClientID != "abc" {
		t.Error("Lookup should return the invalid profile")
	}
}

func TestCorruptConfigFile(t *testing.T) {
	cases := []struct {
		name, data string
		line       int
		want       string
	}{
		{"syntax", "version: 1\nprofiles:\n  a:\n    provider: [okta\n", -1, "line"},
		{"unknown key", "version: 1\nprofiles:\n  a:\n    provider: okta\n    isuer: https://x\n", 5, `unknown key "isuer"`},
		{"unknown top", "version: 1\nprofile:\n  a: {}\n", 2, `unknown key "profile"`},
		{"wrong type", "version: 1\nprofiles:\n  a:\n    redirect_port: eighty\n", 4, `"eighty" should be a whole number`},
		{"profiles not a map", "version: 1\nprofiles: [a, b]\n", 2, "should be a mapping"},
		{"duplicate profile", "profiles:\n  a: {provider: okta}\n  a: {provider: oidc}\n", 3, "already defined"},
		{"newer version", "version: 7\nprofiles: {}\n", 0, "newer tipctl"},
		{"tabs", "version: 1\nprofiles:\n\ta: {}\n", 3, "line"},
		{"binary", "\x00\x01\x02\xff\xfe garbage", 0, "malformed"},
		{"two docs", "version: 1\n---\nversion: 1\n", 0, "more than one YAML document"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			os.WriteFile(path, []byte(tc.data), 0o600)
			_, err := LoadFile(path)
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("want *FileError, got %T %v", err, err)
			}
			if tc.line == -1 && fe.Line > 0 {
				// yaml.v3 reports where the construct began; any line will do.
			} else if fe.Line != tc.line {
				t.Errorf("Line = %d, want %d (%v)", fe.Line, tc.line, err)
			}
			if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, tc.want) {
				t.Errorf("message %q lacks path or %q", msg, tc.want)
			}
		})
	}

	// An empty file is an empty configuration.
	path := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(path, nil, 0o600)
	if cfg, err := LoadFile(path); err != nil || len(cfg.Names()) != 0 {
		t.Errorf("empty file: %v", err)
	}
	// An unreadable path (a directory) is a *FileError with the I/O cause.
	_, err := LoadFile(t.TempDir())
	var fe *FileError
	if !errors.As(err, &fe) || fe.Err == nil {
		t.Errorf("directory as config: %T %v", err, err)
	}
}

func FuzzLoadConfig(f *testing.F) {
	f.Add([]byte("version: 1\nprofiles:\n  a:\n    provider: okta\n"))
	f.Add([]byte("profiles: {a: null}"))
	f.Add([]byte("profiles:\n  a:\n    idp_endpoints: {token: 1}\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Skip()
		}
		cfg, err := LoadFile(path)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		for _, n := range cfg.Names() {
			_, _ = cfg.Get(n)
		}
	})
}
