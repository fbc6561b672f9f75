package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tipctl/tipctl/tip/awsini"
	"github.com/tipctl/tipctl/tip/config"
)

// conflictingKeys are AWS profile keys that the AWS CLI and SDKs use
// before credential_process: a profile with one of them would never run it.
var conflictingKeys = []string{"role_arn", "source_profile", "credential_source", "web_identity_token_file",
	"sso_session", "sso_start_url", "sso_account_id", "sso_role_name", "aws_access_key_id", "aws_secret_access_key"}

func newConfigureAWSProfileCmd(app *App) *cobra.Command {
	var yes, dryRun bool
	var region string
	var sa s3agOptions
	cmd := &cobra.Command{
		Use:   "aws-profile NAME [--profile P] [--s3ag S3_URI --permission READ|WRITE|READWRITE] [--yes]",
		Short: "Write an AWS CLI/SDK profile that gets its credentials from tipctl",
		Long: `Writes (or updates) [profile NAME] in the AWS config file ($AWS_CONFIG_FILE,
default ~/.aws/config) so that the AWS CLI and every SDK get the tipctl
profile's identity-enhanced credentials through credential_process:

  [profile NAME]
  credential_process = tipctl auth get-iam-credentials --profile P
  region = …
  endpoint_url = …        (sandbox profiles only)

With --s3ag the profile gets S3 Access Grants credentials for that S3 URI
instead (credential_process = tipctl s3ag get-data-access S3_URI …).

Only those keys of that one section change: every other profile, comment,
blank line and byte of the file stays as it was, and the file keeps its mode.
The change is shown as a diff first and written after you confirm; --yes
writes without asking (needed without a terminal), --dry-run only shows it.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeAWSProfiles(app),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := awsini.ValidProfileName(name); err != nil {
				return Errorf(ExitUsage, "choose a name of letters, digits and _.+@/-", "%v", err)
			}
			if err := sa.check(cmd); err != nil {
				return err
			}
			p, err := app.loadProfile()
			if err != nil {
				return err
			}
			return writeAWSProfile(app, name, p, region, sa, yes, dryRun)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&yes, "yes", "y", false, "write without asking")
	f.BoolVar(&dryRun, "dry-run", false, "show the change and write nothing")
	f.StringVar(&region, "region", "", "region of the AWS profile (default: the tipctl profile's)")
	sa.register(cmd)
	return cmd
}

func writeAWSProfile(app *App, name string, p *config.Profile, region string, sa s3agOptions, yes, dryRun bool) error {
	path, err := awsini.ConfigPath(app.Getenv)
	if err != nil {
		return Errorf(ExitConfig, "set AWS_CONFIG_FILE", "%v", err)
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Errorf(ExitConfig, "check the file's permissions", "cannot read the AWS config file: %v", err)
	}
	f := awsini.Parse(old)
	if kv, ok := f.Profile(name); ok {
		for _, k := range conflictingKeys {
			if kv[k] != "" {
				return Errorf(ExitConfig, "choose another NAME, or remove "+k+" (and the keys that go with it) from that profile first",
					"AWS profile %s in %s already gets credentials from %s, which the AWS CLI would use instead of tipctl", name, path, k)
			}
		}
	}
	words := []string{credentialCommand()}
	if sa.target != "" {
		words = append(words, "s3ag", "get-data-access")
		for _, a := range sa.args() {
			words = append(words, quoteArg(a))
		}
	} else {
		words = append(words, "auth", "get-iam-credentials")
	}
	words = append(words, "--profile", quoteArg(p.Name))
	process := strings.Join(words, " ")
	kvs := []awsini.KV{{Key: "credential_process", Value: process}}
	if r := orDefault(region, p.Region); r != "" {
		kvs = append(kvs, awsini.KV{Key: "region", Value: r})
	}
	if p.EndpointURL != "" {
		kvs = append(kvs, awsini.KV{Key: "endpoint_url", Value: p.EndpointURL})
	}
	if _, err := f.SetProfile(name, kvs...); err != nil {
		return Errorf(ExitUsage, "", "%v", err)
	}
	updated := f.Bytes()
	diff := awsini.Diff(path, old, updated)
	result := map[string]any{"aws_profile": name, "profile": p.Name, "config_file": path,
		"credential_process": process, "changed": diff != "", "written": false, "diff": diff}
	if shadow := credentialsFileKeys(app, name); shadow != "" {
		app.say("tipctl: warning: AWS profile %s also has %s; the AWS CLI uses those keys before credential_process: remove them there", name, shadow)
	}
	if diff == "" {
		if app.JSON() {
			return app.printJSON(result)
		}
		app.say("AWS profile %s in %s is already up to date", name, path)
		return nil
	}
	if !app.JSON() {
		fmt.Fprint(app.Stdout, diff)
	}
	if dryRun {
		if app.JSON() {
			return app.printJSON(result)
		}
		return nil
	}
	if !yes {
		if !app.canAsk() {
			if app.JSON() {
				_ = app.printJSON(result)
			}
			return Errorf(ExitUsage, "pass --yes to write it, or --dry-run to only show the change", "not changing %s without confirmation, and there is no terminal to ask on", path)
		}
		if app.JSON() {
			fmt.Fprint(app.Stderr, diff)
		}
		ok, err := confirm(app, fmt.Sprintf("Write this change to %s? [y/N] ", path))
		if err != nil {
			return err
		}
		if !ok {
			if app.JSON() {
				return app.printJSON(result)
			}
			app.say("nothing written")
			return nil
		}
	}
	if err := awsini.WriteFile(path, updated); err != nil {
		return Errorf(ExitConfig, "check the permissions of the file and its directory", "cannot write the AWS config file: %v", err)
	}
	result["written"] = true
	if app.JSON() {
		return app.printJSON(result)
	}
	app.say("wrote AWS profile %s to %s; try: aws sts get-caller-identity --profile %s", name, path, name)
	return nil
}

// confirm asks a yes/no question on the terminal; anything but y/yes is no.
func confirm(app *App, question string) (bool, error) {
	fmt.Fprint(app.Stderr, question)
	line, err := bufio.NewReader(app.Stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return false, err
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}

// credentialsFileKeys names the static keys the shared credentials file
// holds for profile name ("" when none).
func credentialsFileKeys(app *App, name string) string {
	f, path := readAWSFile(app, awsini.CredentialsPath)
	if f == nil {
		return ""
	}
	if kv, ok := f.Section(name); ok && kv["aws_access_key_id"] != "" {
		return "aws_access_key_id in " + path
	}
	return ""
}

// readAWSFile reads the AWS config or credentials file (awsini.ConfigPath
// or awsini.CredentialsPath) for a look that may come to nothing: it
// returns the file and its path, or nil when the file cannot be read.
func readAWSFile(app *App, where func(getenv func(string) string) (string, error)) (*awsini.File, string) {
	path, err := where(app.Getenv)
	if err != nil {
		return nil, ""
	}
	f, err := awsini.Load(path)
	if err != nil {
		return nil, ""
	}
	return f, path
}

// tipctlCommand is how credential_process should start tipctl: "tipctl"
// when that is on PATH and is this program (it survives upgrades that move
// the binary), else this executable's absolute path. A program that is not
// tipctl itself (a test binary) gets "tipctl".
func tipctlCommand() string {
	self, err := os.Executable()
	if err != nil {
		return "tipctl"
	}
	if strings.TrimSuffix(filepath.Base(self), ".exe") != "tipctl" {
		return "tipctl"
	}
	return commandFor("tipctl", self)
}

// credentialCommand is the program credential_process lines run: the
// tipctl-creds fast path when it is installed beside this tipctl, else tipctl.
func credentialCommand() string {
	self, err := os.Executable()
	if err != nil || strings.TrimSuffix(filepath.Base(self), ".exe") != "tipctl" {
		return tipctlCommand()
	}
	fast := filepath.Join(filepath.Dir(self), "tipctl-creds"+filepath.Ext(self))
	if st, err := os.Stat(fast); err != nil || st.IsDir() {
		return tipctlCommand()
	}
	return commandFor("tipctl-creds", fast)
}

// commandFor is name when PATH finds path under it, else path quoted.
func commandFor(name, path string) string {
	if onPath, err := exec.LookPath(name); err == nil {
		a, errA := os.Stat(onPath)
		b, errB := os.Stat(path)
		if errA == nil && errB == nil && os.SameFile(a, b) {
			return name
		}
	}
	return quoteArg(path)
}
