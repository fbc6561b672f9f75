package awsini

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tipctl/tipctl/tip/config"
)

// ConfigPath returns the AWS config file: $AWS_CONFIG_FILE (a leading ~
// is expanded) or ~/.aws/config. getenv may be nil (os.Getenv).
func ConfigPath(getenv func(string) string) (string, error) {
	return awsPath(getenv, "AWS_CONFIG_FILE", "config")
}

// CredentialsPath returns the shared credentials file:
// $AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials.
func CredentialsPath(getenv func(string) string) (string, error) {
	return awsPath(getenv, "AWS_SHARED_CREDENTIALS_FILE", "credentials")
}

func awsPath(getenv func(string) string, env, base string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if p := getenv(env); p != "" {
		if p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, `~\`) {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("%s=%s: %w", env, p, err)
			}
			p = filepath.Join(home, p[1:])
		}
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the AWS %s file (set %s): %w", base, env, err)
	}
	return filepath.Join(home, ".aws", base), nil
}

// Load reads and parses path; a missing file is an empty File.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &File{}, nil
	}
	if err != nil {
		return nil, err
	}
	return Parse(b), nil
}

// WriteFile replaces path with data atomically (temporary file in the same
// directory, fsync, rename). An existing file keeps its mode, and a
// symbolic link keeps pointing where it did: its target is replaced. A new
// file gets mode 0600 and its directory 0700.
func WriteFile(path string, data []byte) error {
	return config.WriteFileAtomic(path, data, 0o600, config.UserFile())
}
