package redact

import (
	"bufio"
	"net/url"
	"strings"
	"testing"

	"github.com/zricethezav/gitleaks/v8/detect"
)

// TestWebhookURLs: a webhook URL is a credential whole, and the rules that
// know it (gitleaks' microsoft-teams-webhook, apitape's slack-webhook) need
// its scheme and host. As a JSON value, a header or a query value such a
// URL went through the URL analysis, which looked at its path and query
// only: it came out in clear and scan called the file clean. In text,
// gitleaks' teams rule names a 5-byte group as the secret and only that
// was replaced, leaving the rest of the URL.
func TestWebhookURLs(t *testing.T) {
	d, err := detect.NewDetectorDefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	lowAlnum := "abcdefghijklmnopqrstuvwxyz0123456789"
	c := newCanaries("qared-webhooks")
	guid := func() string {
		return c.fill(lowAlnum, 8) + "-" + c.fill(lowAlnum, 4) + "-" + c.fill(lowAlnum, 4) + "-" + c.fill(lowAlnum, 4) + "-" + c.fill(lowAlnum, 12)
	}
	teams := c.secret("https://acme.webhook.office.com/webhookb2/" + guid() + "@" + guid() + "/IncomingWebhook/" + c.fill(lowAlnum, 32) + "/" + guid())
	slackPath := c.secret("T" + c.fill(alnum, 10) + "/B" + c.fill(alnum, 10) + "/" + c.fill(alnum, 24))
	slack := "https://hooks.slack.com/services/" + slackPath
	// Each place alone: another entry's text would teach the sweep the
	// URL and hide a miss here.
	for _, in := range []string{
		harOf(ent{text: obj("teams", teams)}.json()),
		harOf(ent{text: obj("slack", slack)}.json()),
		harOf(ent{reqH: [][2]string{{"X-Callback", teams}}}.json()),
		harOf(ent{reqH: [][2]string{{"X-Notify", slack}}}.json()),
		harOf(ent{url: "https://api.example/v1/hooks?target=" + strings.NewReplacer(":", "%3A", "/", "%2F", "@", "%40").Replace(slack), qs: [][2]string{{"target", slack}}}.json()),
		harOf(ent{mime: "text/plain", text: "notify:\n  teams: " + teams + "\n  slack: " + slack + "\n"}.json()),
	} {
		checkWebhooks(t, d, c, in)
	}
}

func checkWebhooks(t *testing.T, d *detect.Detector, c *canaries, in string) {
	t.Helper()
	mustParse(t, "input", in)
	if len(scanCount(t, nil, in)) == 0 {
		t.Errorf("scan finds no webhook URL in the input")
	}
	out, _, _ := redactString(t, newTestRedactor(t, Options{}), in)
	mustParse(t, "redacted", out)
	for _, s := range c.secrets {
		for _, f := range spellings(s) {
			if strings.Contains(out, f) {
				t.Errorf("a webhook URL (length %d) survives as %q…", len(s), f[:min(len(f), 40)])
				break
			}
		}
	}
	if strings.Contains(out, "/IncomingWebhook/") {
		t.Errorf("part of a Teams webhook URL survives")
	}
	if f := scanCount(t, nil, out); len(f) > 0 {
		t.Errorf("scan finds %v in the output", f)
	}
	for _, f := range d.DetectString(out) {
		t.Errorf("gitleaks finds %s in the output", f.RuleID)
	}
}

// TestXMLElements: a SOAP login's <Password> and an XML answer's
// <ns:ApiKey> came out in clear and scan called the file clean (gitleaks'
// generic rule does not end a value at '<' either). Elements that only
// talk about secrets stay.
func TestXMLElements(t *testing.T) {
	c := newCanaries("qared-xml")
	pw, key := c.password(), c.word("", 32)
	soap := `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><Login><Username>bob</Username><Password>` + pw + `</Password></Login></soap:Body></soap:Envelope>`
	answer := "<Result>\n  <a:ApiKey xmlns:a=\"urn:x\">\n    " + key + "\n  </a:ApiKey>\n  <PasswordExpiryDays>90</PasswordExpiryDays>\n  <title>Reset your password</title>\n  <Token/>\n</Result>"
	in := harOf(ent{method: "POST", postMime: "text/xml; charset=utf-8", postText: str(soap), mime: "application/xml", text: answer}.json())
	checkRedacted(t, c, in, 2, "<Username>bob</Username>", "<PasswordExpiryDays>90</PasswordExpiryDays>", "<title>Reset your password</title>", "<Token/>", "<Password>REDACTED-password-")
}

// checkRedacted: scan finds want secrets in the input; the redacted file
// is a HAR without any canary of c and scan finds nothing in it; every
// keep (or its JSON-escaped spelling) is still there.
func checkRedacted(t *testing.T, c *canaries, in string, want int, keep ...string) {
	t.Helper()
	mustParse(t, "input", in)
	if f := scanCount(t, nil, in); len(f) != want {
		t.Errorf("scan finds %d secrets in the input, want %d: %v", len(f), want, f)
	}
	out, _, _ := redactString(t, newTestRedactor(t, Options{}), in)
	mustParse(t, "redacted", out)
	for _, s := range c.secrets {
		if strings.Contains(out, s) {
			t.Errorf("a secret (length %d) survives", len(s))
		}
	}
	for _, k := range keep {
		if !strings.Contains(out, jsonEscaped(k)) && !strings.Contains(out, k) {
			t.Errorf("lost %q", k)
		}
	}
	if f := scanCount(t, nil, out); len(f) > 0 {
		t.Errorf("scan finds %v in the output", f)
	}
}

// TestDoublePercentEcho: a secret echoed percent-encoded twice (a URL
// carried in another URL's query: %252F for '/') kept its letters and
// digits in clear, and scan called the file clean.
func TestDoublePercentEcho(t *testing.T) {
	c := newCanaries("qared-pct2")
	tok := c.secret(c.fill(alnum, 12) + "/+" + c.fill(alnum, 12) + "=")
	twice := url.QueryEscape(url.QueryEscape(tok))
	in := harOf(
		ent{reqH: [][2]string{{"Authorization", "Bearer " + tok}}}.json(),
		ent{text: obj("next", twice)}.json(),
	)
	out, _, _ := redactString(t, newTestRedactor(t, Options{}), in)
	mustParse(t, "redacted", out)
	if strings.Contains(out, tok[:12]) {
		t.Errorf("the secret's first part survives: %s", out)
	}
}

// TestPasswordArgumentsInCode: the usual ways code passes a password as
// an argument (Go's SetBasicAuth, a Python requests or httpx auth tuple,
// PowerShell's ConvertTo-SecureString -AsPlainText) were not findings in a
// script, and are not in a text body either; a variable in their place
// is no finding.
func TestPasswordArgumentsInCode(t *testing.T) {
	c := newCanaries("qared-code")
	p1, p2, p3, p4 := c.password(), c.password(), c.password(), c.password()
	text := "req.SetBasicAuth(\"admin\", \"" + p1 + "\")\n" +
		"r = requests.get(url, auth=('admin', '" + p2 + "'))\n" +
		"a = httpx.BasicAuth(\"admin\", \"" + p3 + "\")\n" +
		"$p = ConvertTo-SecureString \"" + p4 + "\" -AsPlainText -Force\n" +
		"req.SetBasicAuth(user, os.Getenv(\"PASSWORD\"))\n" +
		"req.SetBasicAuth(\"admin\", \"${PASSWORD}\")\n" +
		"r = requests.get(url, auth=(user, password))\n" +
		"$p = ConvertTo-SecureString $env:PASSWORD -AsPlainText -Force\n"
	s, err := NewScanner(nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.ScanText(strings.NewReader(text), "script")
	if err != nil {
		t.Fatal(err)
	}
	lines := map[int]bool{}
	for _, x := range f {
		lines[x.Line] = true
	}
	for l := 1; l <= 8; l++ {
		if lines[l] != (l <= 4) {
			t.Errorf("line %d: finding %v, want %v (%v)", l, lines[l], l <= 4, f)
		}
	}
	in := harOf(ent{mime: "text/plain", text: text}.json())
	out, _, _ := redactString(t, newTestRedactor(t, Options{}), in)
	for _, p := range c.secrets {
		if strings.Contains(out, p) {
			t.Errorf("a password (length %d) survives in a text body", len(p))
		}
	}
	for _, k := range []string{`os.Getenv(\"PASSWORD\")`, `auth=(user, password)`, `$env:PASSWORD`} {
		if !strings.Contains(out, k) {
			t.Errorf("lost %s", k)
		}
	}
}

// TestKeyValuePairs: a list of {"key": NAME, "value": …} pairs (a Postman
// collection's auth, headers and variables; Consul) or {"Name": …,
// "Value": …} (AWS SSM parameters, tags) has the secrecy of each NAME, as
// a Kubernetes env list's {"name": …, "value": …} has: the values of
// secret names came out in clear and scan called the body clean.
func TestKeyValuePairs(t *testing.T) {
	c := newCanaries("qared-kv")
	bearer, apiKey, pw, ssm := c.word("", 24), c.word("", 20), c.password(), c.password()
	pt := c.fill(alnum, 24) // a pagination token: not secret
	pm := `{"auth":{"type":"bearer","bearer":[{"key":"token","value":"` + bearer + `","type":"string"}]},` +
		`"item":[{"request":{"header":[{"key":"X-Api-Key","value":"` + apiKey + `"},{"key":"Accept","value":"application/json"}]}}],` +
		`"variable":[{"key":"password","value":"` + pw + `"},{"key":"baseUrl","value":"https://api.example"},{"key":"pageToken","value":"` + pt + `"}]}`
	aws := `{"Parameters":[{"Name":"DB_PASSWORD","Type":"SecureString","Value":"` + ssm + `","Version":3}],"Tags":[{"Key":"team","Value":"platform"}]}`
	in := harOf(ent{text: pm}.json(), ent{text: aws}.json())
	checkRedacted(t, c, in, 4, `{"key":"Accept","value":"application/json"}`, `"value":"https://api.example"`, `{"Key":"team","Value":"platform"}`, `"pageToken","value":"`+pt)
}

// TestScanJSONFile: a JSON file given to scan (a Postman collection, a
// Docker or cloud config) was read as free text, where a pair's value
// ({"key":"password","value":…}) is no assignment: scan called it clean.
// It is now read as JSON, as a HAR body is, with findings by line.
func TestScanJSONFile(t *testing.T) {
	c := newCanaries("qared-jsonfile")
	pw, tok := c.password(), c.word("", 24)
	text := "{\n  \"info\": {\"name\": \"x\"},\n  \"auth\": {\"type\": \"bearer\", \"bearer\": [{\"key\": \"token\", \"value\": \"" + tok + "\"}]},\n  \"variable\": [\n    {\"key\": \"baseUrl\", \"value\": \"https://api.example\"},\n    {\"key\": \"password\", \"value\": \"" + pw + "\"}\n  ]\n}\n"
	s, err := NewScanner(nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.ScanText(strings.NewReader(text), "collection.json")
	if err != nil {
		t.Fatal(err)
	}
	lines := map[int]bool{}
	for _, x := range f {
		lines[x.Line] = true
	}
	if len(f) != 2 || !lines[3] || !lines[6] {
		t.Errorf("findings %v, want lines 3 and 6", f)
	}
	// Not JSON after all: read as text.
	f, err = s.ScanText(strings.NewReader("{ password = \""+pw+"\" }\n"), "x.hcl")
	if err != nil || len(f) != 1 {
		t.Errorf("HCL-like text: %v %v", f, err)
	}
}

// TestSniffLogObject: a JSON file with a "log" member that is not a HAR's
// log object (package.json's scripts, a logging config) was read as a HAR
// and scan failed with "no log.entries array" instead of scanning it.
func TestSniffLogObject(t *testing.T) {
	for _, tc := range []struct {
		text string
		har  bool
	}{
		{`{"log":{"version":"1.2","entries":[]}}`, true},
		{"\ufeff{\n  \"log\" :\n  {\"entries\": []}}", true},
		{`{"name":"x","scripts":{"log":"node log.js"}}`, false},
		{`{"level":"debug","log":["file"]}`, false},
		{`{"message":"see \"log\": {"}`, false},
		{`password=x "log":{`, false},
		{`{"log""log""log":{`, true},
		{`{"log"`, false},
	} {
		if got := Sniff(bufio.NewReader(strings.NewReader(tc.text))); got != tc.har {
			t.Errorf("Sniff(%q) = %v, want %v", tc.text, got, tc.har)
		}
	}
}

// FuzzSniff: Sniff never panics, and says HAR only for an object that has
// a "log" member name followed by an object.
func FuzzSniff(f *testing.F) {
	for _, s := range []string{`{"log":{}}`, `{"a":"log"}`, `{"log"`, `{"\"log\":{"}`, "\ufeff{ \"log\" : {"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Sniff(bufio.NewReader(strings.NewReader(s))) && !strings.Contains(s, `"log"`) {
			t.Errorf("Sniff(%q): a HAR without \"log\"", s)
		}
	})
}

// TestRandomLettersAreNoIdentifier: a random password of mixed-case
// letters and a digit or two (password=lMaXZjljENUhJduRHHJEYXg4, as a
// generator makes them) passed as an identifier ("wordy") in free text and
// a script: it stayed, scan called it clean, and gitleaks flags it. Real
// identifiers (camelCase words, acronyms) still stay.
func TestRandomLettersAreNoIdentifier(t *testing.T) {
	c := newCanaries("qared-letters")
	letters := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	p1 := c.secret(c.fill(letters, 23) + "4")
	p2 := c.secret(c.fill(letters, 16))
	text := "password=" + p1 + "\nexport DB_PASSWORD=" + p2 + "\npassword=getPasswordFromEnvironment\napi_token: parseHTTPResponseXML\n"
	in := harOf(ent{mime: "text/plain", text: text}.json())
	checkRedacted(t, c, in, 2, "password=getPasswordFromEnvironment", "api_token: parseHTTPResponseXML")
	for _, id := range []string{"getPasswordFromEnvironment", "parseHTTPResponseXML", "XMLHttpRequest", "myVeryLongVariableName2", "userPassword12"} {
		if !wordy(id) {
			t.Errorf("wordy(%q) = false", id)
		}
	}
}
