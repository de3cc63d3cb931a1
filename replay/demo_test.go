package replay_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/demo"
	"github.com/apitape/apitape/replay"
	"github.com/apitape/apitape/replay/replaytest"
)

const demoPassword = "demo-password-for-replay-tests"

func startDemo(t testing.TB, variant string) *demo.Running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := demo.Start(ctx, "127.0.0.1:0", demo.Options{Password: demoPassword, Variant: variant})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); srv.Close() })
	return srv
}

func recordDemoBrowserSession(t testing.TB, base string) []*har.Entry {
	return recordWith(t, replaytest.RecordDemoBrowserSession, base)
}

func recordDemoTokenSession(t testing.TB, base string) []*har.Entry {
	return recordWith(t, replaytest.RecordDemoTokenSession, base)
}

func recordWith(t testing.TB, record func(base, password string) ([]*har.Entry, error), base string) []*har.Entry {
	t.Helper()
	entries, err := record(base, demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func replayDemo(t *testing.T, entries []*har.Entry, variant string, opts ...replay.Option) *replay.Result {
	t.Helper()
	return replayTo(t, startDemo(t, variant).URL, entries, opts...)
}

// replayTo replays entries against target and logs the report.
func replayTo(t *testing.T, target string, entries []*har.Entry, opts ...replay.Option) *replay.Result {
	t.Helper()
	r, err := replay.New(target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("replay against %s:\n%s", target, textReport(t, res))
	return res
}

func TestDemoFreshServer(t *testing.T) {
	for name, record := range map[string]func(testing.TB, string) []*har.Entry{
		"browser": recordDemoBrowserSession,
		"token":   recordDemoTokenSession,
	} {
		t.Run(name, func(t *testing.T) {
			entries := record(t, startDemo(t, "").URL)
			res := replayDemo(t, entries, "")
			if res.Regressed() || res.Summary.Passed != len(entries) {
				t.Fatalf("summary %+v: want every call to pass", res.Summary)
			}
			for _, c := range res.Calls {
				if c.Status != c.RecordedStatus || len(c.Differences) != 0 {
					t.Errorf("call %d: status %d (recorded %d), %d differences", c.Index, c.Status, c.RecordedStatus, len(c.Differences))
				}
			}
			// Ids, uuids, timestamps and links all differed: the cluster id
			// was mapped, the rest ignored or rewritten.
			mappedCluster := false
			for _, p := range res.Mapped {
				mappedCluster = mappedCluster || strings.HasPrefix(p.Recorded, "c-")
			}
			if !mappedCluster {
				t.Errorf("cluster id not mapped: %+v", res.Mapped)
			}
			if len(res.Summary.Ignored) == 0 {
				t.Error("nothing ignored: uuids and timestamps should differ")
			}
		})
	}
}

// TestDemoVariants replays one recording against each variant: the
// variant's change is reported on the right call and field, and nothing
// else is (calls that only fail because an earlier one did are marked as
// such, not counted as regressions of their own).
func TestDemoVariants(t *testing.T) {
	entries := recordDemoBrowserSession(t, startDemo(t, "").URL)
	const create, edit, get, list = 2, 3, 4, 5
	for _, v := range demo.Variants() {
		t.Run(v.Name, func(t *testing.T) {
			var opts []replay.Option
			if v.Name == demo.VariantSlow {
				opts = append(opts, replay.WithSlowdown(200*time.Millisecond))
			}
			res := replayDemo(t, entries, v.Name, opts...)
			if !res.Regressed() {
				t.Fatalf("variant %s (%s) not reported", v.Name, v.Description)
			}
			var expect map[int][]string // call → the only difference paths allowed (all required)
			switch v.Name {
			case demo.VariantRenameField:
				k := []string{"$.rancherKubernetesEngineConfig.k8sVersion", "$.rancherKubernetesEngineConfig.kubernetesVersion"}
				expect = map[int][]string{create: k, edit: k, get: k, list: {
					"$.data[name=lab].rancherKubernetesEngineConfig.k8sVersion",
					"$.data[name=lab].rancherKubernetesEngineConfig.kubernetesVersion"}}
			case demo.VariantStatusChange:
				expect = map[int][]string{create: {"status"}}
			case demo.VariantExtraRequired:
				expect = map[int][]string{create: {"status"}}
			case demo.VariantSlow:
				expect = map[int][]string{get: {"time"}}
			}
			for _, c := range res.Calls {
				paths := map[string]bool{}
				for _, d := range c.Differences {
					paths[d.Path] = true
				}
				want, ok := expect[c.Index]
				if !ok {
					if len(paths) > 0 && c.AffectedBy == nil {
						t.Errorf("call %d %s %s: unexpected differences %v", c.Index, c.Method, c.Path, paths)
					}
					if c.AffectedBy != nil && *c.AffectedBy != create {
						t.Errorf("call %d attributed to entry %d, want %d", c.Index, *c.AffectedBy, create)
					}
					continue
				}
				for _, p := range want {
					if !paths[p] {
						t.Errorf("call %d %s %s: %s not reported (got %v)", c.Index, c.Method, c.Path, p, paths)
					}
				}
				if v.Name == demo.VariantExtraRequired {
					continue // the 422 error body differs everywhere: that is the same change
				}
				if len(paths) != len(want) {
					t.Errorf("call %d %s %s: differences %v, want only %v", c.Index, c.Method, c.Path, paths, want)
				}
			}
			if v.Name == demo.VariantExtraRequired {
				// The edit and get of a cluster that was never created, and
				// the list without it, follow from the failed create.
				for _, i := range []int{edit, get, list} {
					c := res.Calls[i]
					if c.Outcome == replay.Fail && (c.AffectedBy == nil || *c.AffectedBy != create) {
						t.Errorf("call %d failed but is not attributed to the create", i)
					}
				}
			}
		})
	}
}

// TestDemoReplayTwice replays the same recording twice against one
// server: the second create collides with the first (same name), which is a
// real difference and must be reported as such, not hidden by mapping.
func TestDemoReplayTwice(t *testing.T) {
	entries := recordDemoTokenSession(t, startDemo(t, "").URL)
	srv := startDemo(t, "")
	r, err := replay.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	first, err := r.Run(context.Background(), entries)
	if err != nil || first.Regressed() {
		t.Fatalf("first replay: %v %+v", err, first.Summary)
	}
	second, err := r.Run(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + textReport(t, second))
	if c := second.Calls[1]; c.Status != http.StatusUnprocessableEntity || c.Outcome != replay.Fail {
		t.Errorf("second create: status %d outcome %s, want 422 NotUnique reported", c.Status, c.Outcome)
	}
}
