package idp

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestBrowserCommands(t *testing.T) {
	const u = "https://idp.example.com/authorize?a=1&b=%20"
	cases := []struct {
		env, goos string
		want      [][]string
	}{
		{"", "linux", [][]string{{"xdg-open", u}, {"wslview", u}}},
		{"", "freebsd", [][]string{{"xdg-open", u}, {"wslview", u}}},
		{"", "darwin", [][]string{{"open", u}}},
		{"", "windows", [][]string{{"rundll32", "url.dll,FileProtocolHandler", u}}},
		{"firefox", "linux", [][]string{{"firefox", u}}},
		{"firefox --new-tab %s", "linux", [][]string{{"firefox", "--new-tab", u}}},
		{"w3m:lynx -accept_all_cookies", "linux", [][]string{{"w3m", u}, {"lynx", "-accept_all_cookies", u}}},
		{"'/opt/My Browser/run' --url=%s 100%%", "linux", [][]string{{"/opt/My Browser/run", "--url=" + u, "100%"}}},
		{`C:\b\chrome.exe %s;edge`, "windows", [][]string{{`C:\b\chrome.exe`, u}, {"edge", u}}},
		{`'C:\Program Files\b.exe'`, "windows", [][]string{{`C:\Program Files\b.exe`, u}}},
		{" : ", "linux", [][]string{{"xdg-open", u}, {"wslview", u}}},
	}
	for _, c := range cases {
		if got := browserCommands(c.env, c.goos, u); !reflect.DeepEqual(got, c.want) {
			t.Errorf("browserCommands(%q, %s) = %q, want %q", c.env, c.goos, got, c.want)
		}
	}
}

func TestSplitWords(t *testing.T) {
	for in, want := range map[string][]string{
		`a b  c`:                  {"a", "b", "c"},
		`"a b" 'c d' e\ f`:        {"a b", "c d", "e f"},
		`x"y z"w`:                 {"xy zw"},
		`"say \"hi\""`:            {`say "hi"`},
		`''`:                      {""},
		"":                        nil,
		`open -a "Google Chrome"`: {"open", "-a", "Google Chrome"},
	} {
		if got := splitWords(in, true); !reflect.DeepEqual(got, want) {
			t.Errorf("splitWords(%q) = %q, want %q", in, got, want)
		}
	}
}

// openBrowser runs the BROWSER commands in order until one succeeds.
func TestOpenBrowserRuns(t *testing.T) {
	dir := t.TempDir()
	rec := filepath.Join(dir, "args")
	fail := filepath.Join(dir, "fail.sh")
	ok := filepath.Join(dir, "ok.sh")
	if err := os.WriteFile(fail, []byte("#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ok, []byte("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \""+rec+"\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	const u = "http://127.0.0.1:8080/idp/authorize?state=x&scope=openid%20email"
	env := "no-such-browser-xyz:" + fail + ":" + ok + " --new-window %s"
	if err := openBrowser(env, "linux", u); err != nil {
		t.Fatalf("openBrowser: %v", err)
	}
	b, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSpace(string(b)), "\n"); !reflect.DeepEqual(got, []string{"--new-window", u}) {
		t.Errorf("the browser got %q", got)
	}
	// All fail: the error says why for each.
	err = openBrowser("no-such-browser-xyz:"+fail, "linux", u)
	if err == nil || !strings.Contains(err.Error(), "no-such-browser-xyz: not found") || !strings.Contains(err.Error(), "exit status 3") ||
		!strings.Contains(err.Error(), "cannot open display") {
		t.Errorf("openBrowser with failing commands = %v", err)
	}
	// Only web URLs are opened.
	for _, bad := range []string{"file:///etc/passwd", "-a Calculator", "javascript:alert(1)"} {
		if err := openBrowser(ok, "linux", bad); err == nil {
			t.Errorf("openBrowser(%q) ran a command", bad)
		}
	}
	// OpenBrowser reads BROWSER.
	t.Setenv("BROWSER", ok+" %s")
	os.Remove(rec)
	if err := OpenBrowser("https://idp.example.com/x"); err != nil {
		t.Fatalf("OpenBrowser: %v", err)
	}
	if b, _ := os.ReadFile(rec); strings.TrimSpace(string(b)) != "https://idp.example.com/x" {
		t.Errorf("OpenBrowser passed %q", b)
	}
}

func TestPreferDevice(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	desktop := map[string]string{"DISPLAY": ":0"}
	cases := []struct {
		name string
		env  map[string]string
		goos string
		proc string
		want bool
		why  string
	}{
		{"linux desktop", desktop, "linux", "Linux version 6.8.0-generic", false, "browser"},
		{"wayland", map[string]string{"WAYLAND_DISPLAY": "wayland-0"}, "linux", "", false, "browser"},
		{"ssh", map[string]string{"DISPLAY": ":0", "SSH_CONNECTION": "10.0.0.1 5000 10.0.0.2 22"}, "linux", "", true, "SSH_CONNECTION"},
		{"ssh tty on mac", map[string]string{"SSH_TTY": "/dev/ttys001"}, "darwin", "", true, "SSH"},
		{"wsl env", map[string]string{"DISPLAY": ":0", "WSL_DISTRO_NAME": "Ubuntu"}, "linux", "", true, "WSL"},
		{"wsl proc", desktop, "linux", "Linux version 5.15.153.1-microsoft-standard-WSL2", true, "WSL"},
		{"headless linux", map[string]string{}, "linux", "Linux version 6.1", true, "DISPLAY"},
		{"headless freebsd", map[string]string{}, "freebsd", "", true, "DISPLAY"},
		{"mac", map[string]string{}, "darwin", "", false, "browser"},
		{"windows", map[string]string{}, "windows", "", false, "browser"},
		{"headless with BROWSER", map[string]string{"BROWSER": "w3m"}, "linux", "", false, "BROWSER"},
		{"ssh with BROWSER", map[string]string{"BROWSER": "remote-open", "SSH_TTY": "/dev/pts/1"}, "linux", "", false, "BROWSER"},
		{"wsl with BROWSER", map[string]string{"BROWSER": "wslview", "WSL_DISTRO_NAME": "Ubuntu"}, "linux", "", false, "BROWSER"},
	}
	for _, c := range cases {
		got, why := preferDevice(env(c.env), c.goos, c.proc)
		if got != c.want || !strings.Contains(why, c.why) {
			t.Errorf("%s: preferDevice = %v, %q; want %v mentioning %q", c.name, got, why, c.want, c.why)
		}
	}
	// The exported form reads the real /proc/version; with SSH set it is true anywhere.
	if ok, _ := PreferDevice(env(map[string]string{"SSH_CLIENT": "x"})); !ok {
		t.Errorf("PreferDevice under SSH = false")
	}
}
