package cli

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/tipctl/tipctl/tip/audit"
	"github.com/tipctl/tipctl/tip/awsconf"
)

func init() { register(newAuditCmd) }

type auditOptions struct {
	user, userID, since, service, endpoint, region string
	denied, follow                                 bool
	limit                                          int
	interval                                       time.Duration
}

func newAuditCmd(app *App) *cobra.Command {
	var o auditOptions
	cmd := &cobra.Command{
		Use:   "audit [--user EMAIL | --user-id ID] [--since 1h] [--service s3] [--denied] [--follow]",
		Short: "Show who did what, as whom: CloudTrail events resolved to the person (onBehalfOf)",
		Long: `Reads CloudTrail LookupEvents (real AWS or the sandbox, same code) and prints,
newest first: time, person, role, action, resource and outcome. For calls made
with identity-enhanced sessions the person is userIdentity.onBehalfOf.userId,
resolved with identitystore DescribeUser (cached). Both the layout IAM Identity
Center used before 13 January 2025 (type Unknown, userName) and the one after
(type IdentityCenterUser, onBehalfOf, credentialId) are read.

Needs cloudtrail:LookupEvents and identitystore:DescribeUser only. Credentials:
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the profile's sandbox keys, or the
shared AWS config (AWS_PROFILE or the profile's base_aws_profile).
--follow polls for new events every --interval until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runAudit(cmd, app, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.user, "user", "", "only this person (Identity Center user email)")
	f.StringVar(&o.userID, "user-id", "", "only this Identity Center user id")
	f.StringVar(&o.since, "since", "1h", "how far back to look (a duration such as 30m, 1h, 7d)")
	f.StringVar(&o.service, "service", "", "only this service (s3, sts, sso-oauth, …, or an event source)")
	f.BoolVar(&o.denied, "denied", false, "only refused calls")
	f.BoolVar(&o.follow, "follow", false, "keep polling for new events")
	f.DurationVar(&o.interval, "interval", 5*time.Second, "poll interval for --follow")
	f.IntVar(&o.limit, "limit", 200, "at most this many events")
	f.StringVar(&o.endpoint, "endpoint-url", "", "send the calls here, e.g. the sandbox (default: the profile's, or AWS_ENDPOINT_URL)")
	f.StringVar(&o.region, "region", "", "AWS region of the trail (default: the profile's, AWS_REGION, us-east-1)")
	return cmd
}

// parseSince accepts Go durations plus a day suffix (7d).
func parseSince(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(d, "%d", &n); err == nil && n > 0 && fmt.Sprint(n) == d {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New("bad duration")
	}
	return d, nil
}

func runAudit(cmd *cobra.Command, app *App, o auditOptions) error {
	if o.user != "" && o.userID != "" {
		return Errorf(ExitUsage, "pass one of them", "--user and --user-id cannot be used together")
	}
	since, err := parseSince(o.since)
	if err != nil {
		return Errorf(ExitUsage, "use a duration such as 30m, 1h or 7d", "--since %q is not a duration", o.since)
	}
	if o.limit < 1 || o.limit > 10000 {
		return Errorf(ExitUsage, "use 1 to 10000", "--limit %d is out of range", o.limit)
	}
	if o.follow && o.interval < time.Second {
		return Errorf(ExitUsage, "use at least 1s", "--interval %s is too short", o.interval)
	}
	prof, err := diagProfile(app)
	if err != nil {
		return err
	}
	endpoint, region := o.endpoint, o.region
	var accessKey, secretKey, shared string
	if prof != nil {
		endpoint = genFirstNonEmpty(endpoint, prof.EndpointURL)
		region = genFirstNonEmpty(region, prof.Region)
		accessKey, secretKey, shared = prof.SandboxAdminKeyID, prof.SandboxAdminSecretKey, prof.BaseAWSProfile
	}
	region = genFirstNonEmpty(region, app.Getenv("AWS_REGION"), app.Getenv("AWS_DEFAULT_REGION"), "us-east-1")
	creds, err := diagCredentials(cmd, app, accessKey, secretKey, shared, region)
	if err != nil {
		return err
	}
	hc, err := app.httpClient()
	if err != nil {
		return err
	}
	cfg, err := awsconf.New(awsconf.Options{Region: region, Endpoint: endpoint, Credentials: creds, HTTPClient: hc, Getenv: app.Getenv, MaxAttempts: 2})
	if err != nil {
		return Errorf(ExitConfig, "", "%v", err)
	}
	r := audit.New(cfg)
	q := audit.Query{UserEmail: o.user, UserID: o.userID, Service: o.service, Denied: o.denied, Limit: o.limit,
		Since: time.Now().Add(-since)}
	ctx := cmd.Context()
	seen := map[string]bool{}
	header := true
	for {
		entries, err := r.Lookup(ctx, q)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var perm *audit.PermissionError
			if errors.As(err, &perm) {
				return &Error{Code: ExitAWS, Err: err, Msg: "missing permission " + perm.Action,
					Fix: "grant " + perm.Action + " to the identity running tipctl audit (it needs cloudtrail:LookupEvents and identitystore:DescribeUser only)"}
			}
			return &Error{Code: ExitAWS, Err: err, Msg: "cannot read CloudTrail: " + err.Error(), Fix: "check the region, endpoint and credentials"}
		}
		var fresh []audit.Entry
		for i := len(entries) - 1; i >= 0; i-- { // oldest first when following
			if !seen[entries[i].EventID] {
				seen[entries[i].EventID] = true
				fresh = append(fresh, entries[i])
			}
		}
		if !o.follow {
			fresh = entries // newest first
		}
		if err := printAudit(app, fresh, header); err != nil {
			return err
		}
		header = header && len(fresh) == 0
		if !o.follow {
			if len(entries) == 0 && !app.JSON() {
				app.say("tipctl audit: no events match")
			}
			return nil
		}
		if len(entries) > 0 {
			q.Since = entries[0].Time.Add(-time.Second)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.interval):
		}
	}
}

// printable drops control characters: event fields come from the network.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, s)
}

func printAudit(app *App, entries []audit.Entry, header bool) error {
	if app.JSON() {
		for _, e := range entries {
			for _, p := range []*string{&e.Person, &e.Role, &e.Action, &e.Resource, &e.Reason, &e.Error, &e.UserID} {
				*p = printable(*p)
			}
			if err := app.printJSON(e); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
	if header && len(entries) > 0 {
		fmt.Fprintln(tw, "TIME\tPERSON\tROLE\tACTION\tRESOURCE\tOUTCOME")
	}
	for _, e := range entries {
		who := e.Person
		if who == "" {
			who = e.UserID
		}
		if who == "" {
			who = "-"
		}
		outcome := "allowed"
		if e.Allowed && e.Reason != "" {
			outcome = "allowed, limited: " + e.Reason
		}
		if !e.Allowed {
			outcome = "DENIED " + e.Error
			if e.Reason != "" {
				outcome += ": " + e.Reason
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format("2006-01-02 15:04:05"), printable(who),
			printable(orDash(e.Role, "-")), printable(e.Action), printable(orDash(e.Resource, "-")), printable(outcome))
	}
	return tw.Flush()
}
