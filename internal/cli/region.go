package cli

import "github.com/tipctl/tipctl/tip/config"

// childRegion is the region a command run by exec or served by serve gets,
// in the AWS CLI's order: --region, AWS_REGION, AWS_DEFAULT_REGION, then
// the profile's region.
func childRegion(app *App, flag string, p *config.Profile) string {
	for _, r := range []string{flag, app.env("AWS_REGION"), app.env("AWS_DEFAULT_REGION")} {
		if r != "" {
			return r
		}
	}
	return p.Region
}
