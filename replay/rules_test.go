package replay

import (
	"strings"
	"testing"
)

func TestRedactedEqual(t *testing.T) {
	key := strings.Repeat("q", 54)
	cert := strings.Repeat("QUJD", 40)
	tests := []struct {
		name      string
		rec, live string
		want      bool
	}{
		{"placeholder stands for the value", "Bearer REDACTED-bearer-0a1b2c3d", "Bearer abc", true},
		{"literal parts must match", "Bearer REDACTED-bearer-0a1b2c3d", "Basic abc", false},
		{"no placeholder: not this rule", "abc", "abd", false},
		{"kubeconfig with per-server certificate",
			"user:\n  token: \"kubeconfig-user-bk6fs:REDACTED-token-65679868\"\n  client-certificate-data: \"" + strings.Repeat("Q0VS", 40) + "\"\n  client-key-data: \"REDACTED-privatekey-eb1a0dde\"\n",
			"user:\n  token: \"kubeconfig-user-bk6fs:" + key + "\"\n  client-certificate-data: \"" + cert + "\"\n  client-key-data: \"" + cert + "\"\n", true},
		{"kubeconfig with another server name",
			"server: \"https://a.test\"\ntoken: \"kubeconfig-user-bk6fs:REDACTED-token-65679868\"\n",
			"server: \"https://b.test\"\ntoken: \"kubeconfig-user-bk6fs:" + key + "\"\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redactedEqual(nil, tt.rec, tt.live); got != tt.want {
				t.Errorf("redactedEqual = %v, want %v", got, tt.want)
			}
		})
	}
}
