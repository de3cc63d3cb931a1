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

// Variants lists every variant the server knows, in a stable order.
func Variants() []Variant {
	return []Variant{
		{VariantRenameField, "cluster responses call rancherKubernetesEngineConfig.kubernetesVersion \"k8sVersion\" (requests still use kubernetesVersion)"},
		{VariantStatusChange, "creating a cluster answers 200 instead of 201"},
		{VariantExtraRequired, "creating a cluster also requires \"description\" (else 422 MissingRequired)"},
		{VariantSlow, "GET /v3/clusters/{id} waits 300ms before answering"},
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
