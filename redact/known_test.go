package redact

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// naiveFind is the sweep's contract written plainly: from left to right,
// the longest form at each position (the first learned among equals),
// none overlapping.
func naiveFind(forms []sweepForm, s string) [][3]int {
	var out [][3]int
	for i := 0; i < len(s); {
		best := -1
		for fi, f := range forms {
			if strings.HasPrefix(s[i:], f.text) && (best < 0 || len(f.text) > len(forms[best].text)) {
				best = fi
			}
		}
		if best < 0 {
			i++
			continue
		}
		out = append(out, [3]int{i, i + len(forms[best].text), best})
		i += len(forms[best].text)
	}
	return out
}

// TestMatcherAgreesWithNaive checks the incremental matcher against the
// plain definition on texts made of the forms themselves, overlapping,
// nested and sharing long prefixes (whole JWTs with one header), with
// forms added between searches.
func TestMatcherAgreesWithNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alpha := "abAB01-_.%"
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	for round := 0; round < 200; round++ {
		var forms []sweepForm
		m := newMatcher(nil)
		prefix := word(6 + rng.IntN(30))
		for step := 0; step < 5; step++ {
			for range 1 + rng.IntN(8) {
				var f string
				switch rng.IntN(4) {
				case 0: // a shared prefix
					f = prefix + word(rng.IntN(4))
				case 1: // a form inside another
					if len(forms) > 0 {
						o := forms[rng.IntN(len(forms))].text
						lo := rng.IntN(len(o) - 5)
						f = o[lo : lo+6+rng.IntN(len(o)-lo-5)]
						break
					}
					fallthrough
				default:
					f = word(6 + rng.IntN(10))
				}
				forms = append(forms, sweepForm{text: f, value: fmt.Sprint(len(forms)), n: len(forms)})
			}
			m.add(forms)
			var text strings.Builder
			for range 20 {
				if rng.IntN(3) == 0 {
					text.WriteString(word(rng.IntN(5)))
				} else {
					f := forms[rng.IntN(len(forms))].text
					text.WriteString(f[rng.IntN(3):])
				}
			}
			s := text.String()
			want := naiveFind(forms, s)
			var got [][3]int
			m.find(s, func(start, end int, value string) {
				var fi int
				fmt.Sscan(value, &fi)
				got = append(got, [3]int{start, end, fi})
			})
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("round %d: text %q\ngot  %v\nwant %v", round, s, got, want)
			}
			for n := 0; n <= len(forms); n++ {
				wantAny := false
				for _, h := range naiveAll(forms, s) {
					wantAny = wantAny || forms[h].n >= n
				}
				if gotAny := m.any(s, func(f *sweepForm) bool { return f.n >= n }); gotAny != wantAny {
					t.Fatalf("round %d: any(n>=%d) = %v, want %v", round, n, gotAny, wantAny)
				}
			}
		}
	}
}

// naiveAll lists the forms that occur in s anywhere.
func naiveAll(forms []sweepForm, s string) []int {
	var out []int
	for i, f := range forms {
		if strings.Contains(s, f.text) {
			out = append(out, i)
		}
	}
	return out
}

// learnSecrets returns a keystore that has learned n random secrets, and
// the secrets.
func learnSecrets(n int) (*keystore, []string) {
	ks := newKeystore(testKey)
	c := newCanaries(fmt.Sprint("sweep-", n))
	var secrets []string
	for i := 0; i < n; i++ {
		v := "token-" + c.fill(rancherAlphabet, 5) + ":" + c.fill(rancherAlphabet, 54)
		ks.placeholder(v, "token", true)
		secrets = append(secrets, v)
	}
	return ks, secrets
}

// TestSweepManySecrets checks that every one of thousands of learned
// values, all with the same prefix, is found in several spellings.
func TestSweepManySecrets(t *testing.T) {
	ks, secrets := learnSecrets(5000)
	for i, v := range secrets {
		if i%97 != 0 {
			continue
		}
		for _, f := range sweepForms(v) {
			text := `{"a":"x` + f + `y"}`
			var got []string
			ks.sweep(text, func(start, end int, value, class string) { got = append(got, value) })
			if len(got) != 1 || got[0] != v {
				t.Fatalf("secret %d: spelling %q…: found %d values", i, f[:8], len(got))
			}
		}
	}
}

// BenchmarkSweep measures the sweep over 1 MiB of JSON-like text with
// thousands of learned secrets (tokens sharing their "token-" prefix):
// MB/s must not fall as the number grows.
func BenchmarkSweep(b *testing.B) {
	text := bigJSON(1<<20, "x")
	for _, n := range []int{10, 1000, 10000, 40000} {
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			ks, secrets := learnSecrets(n)
			s := text + secrets[n/2]
			b.SetBytes(int64(len(s)))
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				hits := 0
				ks.sweep(s, func(int, int, string, string) { hits++ })
				if hits != 1 {
					b.Fatalf("%d hits", hits)
				}
			}
			b.ReportMetric(float64(len(s))*float64(b.N)/1e6/(cpuTime()-cpu0).Seconds(), "MB/cpu-s")
		})
	}
}

// BenchmarkLearn measures learning thousands of secrets: the sweep's
// index grows without being rebuilt, so the time per secret is flat.
func BenchmarkLearn(b *testing.B) {
	for _, n := range []int{1000, 20000} {
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				learnSecrets(n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/secret")
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N)/float64(n), "cpu-ns/secret")
		})
	}
}
