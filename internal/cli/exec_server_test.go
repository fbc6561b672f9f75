package cli

import (
	"os/exec"
	"strings"
	"testing"
)

// TestExecServesRenewingCredentials: by default exec serves the
// credentials over the container-credentials protocol, and a long-running
// program (boto3, in one process) gets new ones when the old ones near
// their expiry. Here they are minted for 15 minutes, inside botocore's
// refresh window, so the second read renews them.
func TestExecServesRenewingCredentials(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("python3 with boto3 is not installed")
	}
	sb := loggedIn(t)
	script := `import boto3, os
s = boto3.Session()
c = s.get_credentials()
k1 = c.get_frozen_credentials().access_key
arn = s.client("sts").get_caller_identity()["Arn"]
k2 = c.get_frozen_credentials().access_key
print(k1, k2, arn, os.environ.get("AWS_ACCESS_KEY_ID", "<unset>"), os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"][:16])`
	out, stderr, code := tipctlProc(t, "", "exec", "--duration", "15m", "--", "python3", "-c", script)
	f := strings.Fields(out)
	if code != 0 || len(f) != 5 {
		t.Fatalf("exec python3: %d %q %s", code, out, stderr)
	}
	if !strings.HasPrefix(f[0], "ASIA") || f[0] == f[1] || !strings.HasPrefix(f[1], "ASIA") {
		t.Errorf("the credentials did not renew in the running program: %s then %s", f[0], f[1])
	}
	if !strings.Contains(f[2], ":assumed-role/tip-enhanced/") {
		t.Errorf("caller %s", f[2])
	}
	if f[3] != "<unset>" || f[4] != "http://127.0.0.1" {
		t.Errorf("environment: AWS_ACCESS_KEY_ID=%s FULL_URI=%s", f[3], f[4])
	}
	if n := sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM"); n < 2 {
		t.Errorf("%d exchanges; the renewal should have run the chain again", n)
	}
}
