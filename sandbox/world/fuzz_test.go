package world

import (
	"errors"
	"testing"
)

// FuzzLoad: any world file loads or fails with a *world.Error; never a panic.
func FuzzLoad(f *testing.F) {
	f.Add(string(DefaultYAML()))
	for _, s := range []string{"", "account_id: 1", "idp: [", "iam:\n  roles:\n    - name: r\n      trust_policy: '{'\n",
		"identity_center:\n  applications:\n    - name: a\n      status: X\n", "s3:\n  buckets:\n    - name: A\n", "a: &a [*a]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, y string) {
		w, err := Load([]byte(y), "fuzz.yaml", "http://127.0.0.1:1")
		if err != nil {
			var we *Error
			if !errors.As(err, &we) {
				t.Fatalf("error is not a *world.Error: %T %v", err, err)
			}
			return
		}
		if w.AccountID == "" || w.Region == "" {
			t.Fatal("a loaded world lacks its account or region")
		}
	})
}
