package redact

import (
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
)

// TestMain takes the paths meant for large bodies with every body when
// APITAPE_BIG_PATHS=1 (JSON walked lazily, entries checked without their
// text), so the whole suite can run on them too.
func TestMain(m *testing.M) {
	if os.Getenv("APITAPE_BIG_PATHS") == "1" {
		lazyJSON, bigText = 0, 0
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

// FuzzCheckEntry checks an entry as the first pass does, with its body's
// text and without it (withoutText): the error, offset included, must be
// the same.
func FuzzCheckEntry(f *testing.F) {
	for _, s := range []string{
		ent{text: `{"a":1}`}.json(),
		ent{text: "x\"y\u00e9\xff", postText: har.String("a=1")}.json(),
		`{"request":{"method":"GET","url":"/"},"response":{"content":{"text":"abc"},"status":"x"}}`,
		`{"request":{"method":"GET","url":"/","postData":{"text":"abcdef"},"headers":7},"response":{}}`,
		`{"response":{"content":{"text":"abc","text":"abcdef"}},"request":{"url":"/"}}`,
		`{"response":{"content":{"text":"abc"}},"request":{"method":"GET","url":""}}`,
		`{"response":{"content":{"text":"abc"}}} x`, `{"response":{"content":{"text":"ab`,
		`{"response":{"content":{"text":7}},"request":{"method":"GET","url":"/"}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		check := func(big int) error {
			defer func(old int) { bigText = old }(bigText)
			bigText = big
			return checkEntry(3, []byte(raw), 100)
		}
		whole, cut := check(math.MaxInt), check(0)
		if !reflect.DeepEqual(whole, cut) {
			t.Fatalf("with the text: %v\nwithout: %v", whole, cut)
		}
	})
}
