package demo

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// variantProbes observe the behaviour each variant changes. Every probe runs
// against a normal server and against the variant, and must see the normal
// value on the first and the changed one on the second, so a variant that
// stops working (or leaks into the normal server) fails here.
var variantProbes = map[string]struct {
	probe           func(t *testing.T, f *fixture) string
	normal, changed string
}{
	VariantRenameField: {
		probe: func(t *testing.T, f *fixture) string {
			c := f.createCluster("lab", map[string]any{"rancherKubernetesEngineConfig": map[string]any{"kubernetesVersion": "v1.30.8-rancher1-1"}})
			got := f.must(200, req{path: "/v3/clusters/" + c["id"].(string)}).json(t)
			var keys []string
			for _, m := range []map[string]any{c, got} {
				rke := m["rancherKubernetesEngineConfig"].(map[string]any)
				for _, k := range []string{"kubernetesVersion", "k8sVersion"} {
					if rke[k] == "v1.30.8-rancher1-1" {
						keys = append(keys, k)
					}
				}
			}
			return strings.Join(keys, ",")
		},
		normal: "kubernetesVersion,kubernetesVersion", changed: "k8sVersion,k8sVersion",
	},
	VariantStatusChange: {
		probe: func(t *testing.T, f *fixture) string {
			res := f.do(req{method: "POST", path: "/v3/cluster?_replace=true", body: map[string]any{"name": "lab"}})
			other := f.do(req{method: "POST", path: "/v3/nodetemplate", body: map[string]any{}}) // unaffected route
			return fmt.Sprintf("%d %d", res.status, other.status)
		},
		normal: "201 201", changed: "200 201",
	},
	VariantExtraRequired: {
		probe: func(t *testing.T, f *fixture) string {
			res := f.do(req{method: "POST", path: "/v3/cluster?_replace=true", body: map[string]any{"name": "lab"}})
			if res.status != 201 {
				m := res.json(t)
				return fmt.Sprintf("%d %v %v", res.status, m["code"], m["fieldName"])
			}
			with := f.do(req{method: "POST", path: "/v3/cluster", body: map[string]any{"name": "lab2", "description": "d"}})
			return fmt.Sprintf("%d %d", res.status, with.status)
		},
		normal: "201 201", changed: "422 MissingRequired description",
	},
	VariantSlow: {
		probe: func(t *testing.T, f *fixture) string {
			c := f.createCluster("lab", nil)
			start := time.Now()
			f.must(200, req{path: "/v3/clusters/" + c["id"].(string)})
			one := time.Since(start)
			start = time.Now()
			f.must(200, req{path: "/v3/clusters"})
			list := time.Since(start)
			return fmt.Sprintf("get slow: %v, list slow: %v", one >= slowDelay, list >= slowDelay)
		},
		normal: "get slow: false, list slow: false", changed: "get slow: true, list slow: false",
	},
}

func TestVariants(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range Variants() {
		if v.Name == "" || v.Description == "" || seen[v.Name] {
			t.Errorf("variant %+v: names must be unique and described", v)
		}
		seen[v.Name] = true
		p, ok := variantProbes[v.Name]
		if !ok {
			t.Errorf("variant %s has no probe in this test", v.Name)
			continue
		}
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			if got := p.probe(t, newFixture(t, testOptions)); got != p.normal {
				t.Errorf("normal server: %q, want %q", got, p.normal)
			}
			if got := p.probe(t, newFixture(t, Options{Password: testPass, Variant: v.Name})); got != p.changed {
				t.Errorf("with --variant %s: %q, want %q", v.Name, got, p.changed)
			}
		})
	}
	for name := range variantProbes {
		if !seen[name] {
			t.Errorf("probe for %s, which Variants() does not list", name)
		}
	}
}

func TestUnknownVariant(t *testing.T) {
	_, err := New(Options{Variant: "frob"})
	if err == nil || !strings.Contains(err.Error(), `"frob"`) || !strings.Contains(err.Error(), VariantSlow) {
		t.Fatalf("New(frob) error = %v, want one naming the variant and the known ones", err)
	}
}
