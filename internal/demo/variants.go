package demo

import (
	"fmt"
	"strings"
	"time"
)

// Variant is a deliberate difference from the normal server, so that replay
// tests can record against one server and replay against a changed one and
// check that apitape reports (or tolerates) the change.
type Variant struct {
	Name        string
	Description string
}

// Variant names.
const (
	VariantRenameField   = "rename-field"
	VariantStatusChange  = "status-change"
	VariantExtraRequired = "extra-required"
	VariantSlow          = "slow"
)

// slowDelay is how long the slow variant holds GET /v3/clusters/{id}.
const slowDelay = 300 * time.Millisecond

// Variants lists every variant the server knows, in a stable order. The
// descriptions are one short line, for a usage text.
//
// rename-field renames rancherKubernetesEngineConfig.kubernetesVersion to
// k8sVersion in every cluster response (requests still use
// kubernetesVersion), so the changed field is nested. extra-required makes
// "description" required when creating a cluster (422 MissingRequired,
// fieldName "description"). slow holds only GET /v3/clusters/{id}, not the
// list.
func Variants() []Variant {
	return []Variant{
		{VariantRenameField, "cluster responses say k8sVersion, not kubernetesVersion"},
		{VariantStatusChange, "creating a cluster answers 200, not 201"},
		{VariantExtraRequired, "creating a cluster also requires description (422)"},
		{VariantSlow, "GET /v3/clusters/{id} waits 300ms"},
	}
}

func checkVariant(name string) error {
	if name == "" {
		return nil
	}
	var names []string
	for _, v := range Variants() {
		if v.Name == name {
			return nil
		}
		names = append(names, v.Name)
	}
	return fmt.Errorf("demo: unknown variant %q (known: %s)", name, strings.Join(names, ", "))
}
