package redact

import (
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestMain walks every JSON text lazily when APITAPE_LAZY_JSON=0, so the
// whole suite can run on that path too.
func TestMain(m *testing.M) {
	if os.Getenv("APITAPE_LAZY_JSON") == "0" {
		lazyJSON = 0
	}
	os.Exit(m.Run())
}

// FuzzLazyJSON redacts a HAR whose response body is the input with every
// JSON text parsed whole and with every one walked lazily (parseLazy,
// elems): output, records and residual must be the same.
func FuzzLazyJSON(f *testing.F) {
	c := newCanaries("lazy")
	k, pw := c.rancherKey(), c.password()
	for _, s := range []string{
		`[]`, `{}`, `[1,"x",true,null,{"a":[]}]`,
		`{"type":"collection","data":[{"id":"a","token":"token-fkx2q:` + k + `"},{"id":"b","note":"token-fkx2q:` + k + `"}]}`,
		`{"items":[{"env":[{"name":"DB_PASSWORD","value":"` + pw + `"},{"name":"HOME","value":"/root"}]}]}`,
		`{"kind":"SecretList","items":[{"data":{"k":"` + pw + `"}},[{"password":"` + pw + `"}],"x"]}`,
		`{"data":{"a":"` + pw + `"},"type":"Opaque","list":[["` + pw + `",{"secret":"` + pw + `"}]]}`,
		`[[[[{"password":"` + pw + `"}]]],"{\"password\":\"` + pw + `\"}"]`,
		`[{"a":1},` + strings.Repeat(`[`, 60) + strings.Repeat(`]`, 60) + `]`,
		`[{"a":1}`, `[1,]`, `{"a":[1 2]}`, `["\ud800"]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		in := harOf(ent{reqH: [][2]string{{"Authorization", "Bearer token-fkx2q:" + k}}, text: body}.json())
		run := func(lazy int) (string, Summary, []Record) {
			defer func(old int) { lazyJSON = old }(lazyJSON)
			lazyJSON = lazy
			r, _ := New(Options{Key: testKey})
			return redactString(t, r, in)
		}
		out1, sum1, recs1 := run(math.MaxInt)
		out2, sum2, recs2 := run(0)
		if out1 != out2 {
			t.Fatalf("outputs differ:\nwhole %s\nlazy  %s", out1, out2)
		}
		if !reflect.DeepEqual(recs1, recs2) || !reflect.DeepEqual(sum1, sum2) {
			t.Fatalf("records differ:\nwhole %v %v\nlazy  %v %v", recs1, sum1, recs2, sum2)
		}
	})
}
