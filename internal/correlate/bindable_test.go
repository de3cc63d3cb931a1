package correlate

import "testing"

func TestBindableLettersOnlyIDs(t *testing.T) {
	tests := []struct {
		v      string
		want   bool
		reason string
	}{
		{"c-bxkqz", true, "a Rancher id whose random part drew no digit"},
		{"cattle-global-nt:nt-bcdfg", true, "a namespaced id, letters only"},
		{"c-q7x2m", true, "an id with digits"},
		{"/var/lib/docker", false, "a path of words"},
		{"provisioning", false, "a word"},
		{"rancherKubernetesEngineConfig", false, "a camel-case name has vowels in every run"},
		{"application/json", false, "a content type"},
	}
	for _, tt := range tests {
		if got := bindable(tt.v); got != tt.want {
			t.Errorf("bindable(%q) = %v, want %v: %s", tt.v, got, tt.want, tt.reason)
		}
	}
}
