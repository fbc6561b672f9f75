package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/tipctl/tipctl/tip/config"
)

// Every command that mints credentials takes one --duration (a Go
// duration: 15m, 1h, 12h). For the identity-enhanced session it sets the
// lifetime of newly minted credentials, over the profile's
// enhanced_session_seconds.
var durationCommands = [][]string{{"auth", "get-iam-credentials"}, {"exec"}, {"serve"}, {"export"}}

const durationHelp = "lifetime of newly minted credentials, 15m to 1h (AWS's limit for a chained role session; default: the profile's enhanced_session_seconds)"

func addDurationFlags(app *App, root *cobra.Command) {
	for _, path := range durationCommands {
		if cmd := findCmd(root, path...); cmd != nil && cmd.Flags().Lookup("duration") == nil {
			cmd.Flags().DurationVar(&app.duration, "duration", 0, durationHelp)
		}
	}
}

// checkDuration validates a --duration: whole seconds within STS's range.
func checkDuration(d time.Duration) error {
	if d == 0 {
		return nil
	}
	if d%time.Second != 0 || d < config.MinSessionSeconds*time.Second || d > config.MaxSessionSeconds*time.Second {
		return Errorf(ExitUsage, "use a duration from 15m to 12h, such as 1h or 90m", "--duration %s is out of range", d)
	}
	return nil
}

// applyDuration sets the enhanced session lifetime of p from --duration.
func (a *App) applyDuration(p *config.Profile) error {
	if err := checkDuration(a.duration); err != nil {
		return err
	}
	if a.duration != 0 {
		p.EnhancedSessionSeconds = int(a.duration / time.Second)
	}
	return nil
}

// minLifetime is how long cached credentials must last to answer a
// --duration d: all of it but a minute, so that a repeated call within the
// minute is still served from the cache.
func minLifetime(d time.Duration) time.Duration {
	if d == 0 {
		return 0
	}
	return d - time.Minute
}
