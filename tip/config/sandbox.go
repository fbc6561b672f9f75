package config

// SandboxInfo is what tipctl reads of a sandbox's /_sandbox/info document.
type SandboxInfo struct {
	Region string `json:"region"`
	Admin  struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
	} `json:"admin"`
	IdP struct {
		Issuer   string `json:"issuer"`
		ClientID string `json:"client_id"`
	} `json:"idp"`
	IdentityCenter struct {
		ApplicationArn string `json:"application_arn"`
	} `json:"identity_center"`
	Roles struct {
		Bridge   string `json:"bridge"`
		Enhanced string `json:"enhanced"`
	} `json:"roles"`
	QuickSight struct {
		SnapshotRole string `json:"snapshot_role"`
	} `json:"quicksight"`
}

// ProfileValues are the values of a profile for the sandbox at endpoint,
// for BuildProfile with ProviderSandbox.
func (i *SandboxInfo) ProfileValues(endpoint string) map[string]string {
	return map[string]string{
		"issuer": i.IdP.Issuer, "client_id": i.IdP.ClientID, "application_arn": i.IdentityCenter.ApplicationArn,
		"bridge_role_arn": i.Roles.Bridge, "enhanced_role_arn": i.Roles.Enhanced, "region": i.Region,
		"endpoint_url": endpoint, "sandbox_admin_key_id": i.Admin.AccessKeyID, "sandbox_admin_secret_key": i.Admin.SecretAccessKey,
	}
}
