package idp

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
)

// OpenBrowser opens an http(s) URL in the person's browser. BROWSER, when
// set, is a list of commands separated by ':' (';' on Windows), tried in
// order as Python's webbrowser module and xdg-open do: "%s" in a command
// is replaced by the URL ("%%" is a literal %), otherwise the URL is added
// as the last argument. Without BROWSER it runs xdg-open (Linux and other
// Unix), open (macOS) or rundll32 (Windows). It waits for the command and
// fails when every command fails; the caller then prints the URL.
func OpenBrowser(rawURL string) error {
	return openBrowser(os.Getenv("BROWSER"), runtime.GOOS, rawURL)
}

func openBrowser(browserEnv, goos, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("refusing to open a URL that is not http(s)")
	}
	cmds := browserCommands(browserEnv, goos, rawURL)
	if len(cmds) == 0 {
		return errors.New("no browser command is configured (BROWSER is empty and none is known for " + goos + ")")
	}
	var errs []string
	for _, argv := range cmds {
		if _, err := exec.LookPath(argv[0]); err != nil {
			errs = append(errs, argv[0]+": not found")
			continue
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		var tail tailBuffer
		cmd.Stdout, cmd.Stderr = &tail, &tail
		if err := cmd.Run(); err != nil {
			msg := argv[0] + ": " + err.Error()
			if t := strings.TrimSpace(tail.String()); t != "" {
				msg += " (" + t + ")"
			}
			errs = append(errs, msg)
			continue
		}
		return nil
	}
	return errors.New(strings.Join(errs, "; "))
}

// browserCommands are the argument vectors to try, in order.
func browserCommands(browserEnv, goos, rawURL string) [][]string {
	var out [][]string
	sep := ":"
	if goos == "windows" {
		sep = ";"
	}
	for _, entry := range strings.Split(browserEnv, sep) {
		words := splitWords(strings.TrimSpace(entry), goos != "windows")
		if len(words) == 0 {
			continue
		}
		placed := false
		for i, w := range words {
			if strings.Contains(w, "%s") {
				placed = true
			}
			words[i] = substitute(w, rawURL)
		}
		if !placed {
			words = append(words, rawURL)
		}
		out = append(out, words)
	}
	if len(out) > 0 {
		return out
	}
	switch goos {
	case "darwin":
		return [][]string{{"open", rawURL}}
	case "windows":
		return [][]string{{"rundll32", "url.dll,FileProtocolHandler", rawURL}}
	case "js", "wasip1", "ios", "android", "plan9":
		return nil
	}
	return [][]string{{"xdg-open", rawURL}, {"wslview", rawURL}}
}

// substitute replaces %s with the URL and %% with %.
func substitute(w, rawURL string) string {
	var b strings.Builder
	for i := 0; i < len(w); i++ {
		if w[i] == '%' && i+1 < len(w) {
			switch w[i+1] {
			case 's':
				b.WriteString(rawURL)
				i++
				continue
			case '%':
				b.WriteByte('%')
				i++
				continue
			}
		}
		b.WriteByte(w[i])
	}
	return b.String()
}

// splitWords splits a command line the way a POSIX shell splits words:
// blanks separate, single quotes keep everything, double quotes and
// backslashes escape (backslashes are literal when !posix, for Windows
// paths). No expansions: the URL is substituted after.
func splitWords(s string, posix bool) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				cur.WriteString(s[i+1:])
				i = len(s)
			} else {
				cur.WriteString(s[i+1 : i+1+j])
				i += j + 1
			}
		case c == '"':
			inWord = true
			for i++; i < len(s) && s[i] != '"'; i++ {
				if posix && s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
		case posix && c == '\\' && i+1 < len(s):
			inWord = true
			i++
			cur.WriteByte(s[i])
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// tailBuffer keeps the last 1 KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if t.buf.Len() > 1024 {
		b := t.buf.Bytes()[t.buf.Len()-1024:]
		t.buf = *bytes.NewBuffer(append([]byte(nil), b...))
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

// PreferDevice reports whether the device flow suits this session better
// than a browser on the loopback, and why: under SSH (SSH_CONNECTION,
// SSH_CLIENT or SSH_TTY), on WSL (WSL_DISTRO_NAME, or /proc/version
// mentions Microsoft), or on Linux and other Unix (not macOS) without a
// graphical display (DISPLAY and WAYLAND_DISPLAY unset); never when
// BROWSER is set, which names the browser to use. env is os.Getenv in
// production.
func PreferDevice(env func(string) string) (bool, string) {
	proc := ""
	if runtime.GOOS == "linux" {
		if b, err := os.ReadFile("/proc/version"); err == nil {
			proc = string(b)
		}
	}
	return preferDevice(env, runtime.GOOS, proc)
}

func preferDevice(env func(string) string, goos, procVersion string) (bool, string) {
	// BROWSER is the user saying which browser to use (a terminal browser,
	// a wrapper, a remote opener): it wins over every guess below.
	if b := env("BROWSER"); b != "" {
		return false, "BROWSER is set"
	}
	for _, k := range []string{"SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"} {
		if env(k) != "" {
			return true, fmt.Sprintf("this is an SSH session (%s is set): a browser here cannot reach your screen", k)
		}
	}
	if goos == "linux" {
		if env("WSL_DISTRO_NAME") != "" {
			return true, "this is WSL (WSL_DISTRO_NAME is set): the Windows browser may not reach this loopback"
		}
		if strings.Contains(strings.ToLower(procVersion), "microsoft") {
			return true, "this is WSL (/proc/version mentions Microsoft): the Windows browser may not reach this loopback"
		}
	}
	switch goos {
	case "darwin", "windows", "ios", "android", "js", "wasip1", "plan9":
	default:
		if env("DISPLAY") == "" && env("WAYLAND_DISPLAY") == "" {
			return true, "no graphical display (DISPLAY and WAYLAND_DISPLAY are unset)"
		}
	}
	return false, "a browser can be opened on this computer"
}
