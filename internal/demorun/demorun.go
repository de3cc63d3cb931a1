// Package demorun is `apitape demo`: the whole pipeline, capture → redact →
// convert → run → replay, on the built-in demo server, in one command that
// a newcomer can run on a laptop or in CI and read in a minute.
//
// It records a built-in UI flow with headless Chromium (or, without
// Chromium, uses a recording bundled in the binary), redacts it, converts it
// to curl, bash and Go, runs the bash script against a second, fresh server
// and shows the cluster it created there, replays the recording against a
// fresh server (no regressions) and against one started with a deliberate
// change (a real regression), and leaves every artifact in a folder.
package demorun

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/apitape/apitape/capture/browser"
	"github.com/apitape/apitape/convert"
	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/atomicfile"
	"github.com/apitape/apitape/internal/chromium"
	"github.com/apitape/apitape/internal/demo"
	"github.com/apitape/apitape/internal/placeholder"
	"github.com/apitape/apitape/internal/selection"
	"github.com/apitape/apitape/internal/shellquote"
	"github.com/apitape/apitape/redact"
	"github.com/apitape/apitape/replay"
)

//go:embed steps.yaml
var builtinSteps []byte

// bundled is a redacted recording of the built-in flow, used when no
// Chromium is installed. Refresh it with `go test ./internal/demorun -update`.
//
//go:embed testdata/session.har
var bundled []byte

// Options configure Run.
type Options struct {
	Dir     string    // where the artifacts go (created, mode 0700)
	Out     io.Writer // the running commentary and the summary
	Version string    // apitape's version, for the HAR creator

	// Bundled uses the recording shipped in the binary even when Chromium
	// is available; Browser names the browser executable otherwise.
	Bundled bool
	Browser string

	// Command is how the person who ran the demo runs apitape, for the
	// "Next:" lines: "apitape" when it is installed, "go run ./cmd/apitape"
	// after `go run ./cmd/apitape demo`. Default "apitape".
	Command string
}

// Result is what a run found, for tests and the exit code.
type Result struct {
	Recorded          bool // true: recorded live with Chromium; false: bundled
	Calls             int
	Redactions        int
	ScriptClusters    []string // clusters on the fresh server after the bash script ran
	FreshRegressions  int
	VariantRegression string // the field the variant replay reported
	Files             []File
}

// File is an artifact and what it is.
type File struct {
	Name, What string
}

// The secrets the built-in flow types. Fresh per run: nothing here is a
// real credential, and nothing is written down but placeholders.
type flowSecrets struct {
	password, accessKey, secretKey string
}

func newSecrets() flowSecrets {
	r := func(n int) string {
		b := make([]byte, n)
		rand.Read(b)
		return hex.EncodeToString(b)
	}
	const awsAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, 16)
	rand.Read(b)
	key := []byte("AKIA")
	for _, c := range b {
		key = append(key, awsAlphabet[int(c)%len(awsAlphabet)])
	}
	return flowSecrets{password: "Demo-" + r(8), accessKey: string(key), secretKey: r(20)}
}

// Run runs the whole demo.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, err
	}
	if err := claimDir(o.Dir); err != nil {
		return nil, err
	}
	d := &run{Options: o, res: &Result{}, secrets: newSecrets()}
	defer d.closeServers()
	steps := []func(context.Context) error{d.record, d.redact, d.convert, d.runScript, d.replayFresh, d.replayVariant}
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return d.res, err
		}
		if err := step(ctx); err != nil {
			return d.res, err
		}
	}
	d.summary()
	return d.res, nil
}

type run struct {
	Options
	res     *Result
	secrets flowSecrets
	servers []*demo.Running
	rawHAR  []byte // the unredacted recording; kept in memory only
}

func (d *run) say(format string, args ...any) { fmt.Fprintf(d.Out, format+"\n", args...) }

func (d *run) path(name string) string { return filepath.Join(d.Dir, name) }

func (d *run) file(name, what string) { d.res.Files = append(d.res.Files, File{name, what}) }

func (d *run) server(ctx context.Context, variant string) (*demo.Running, error) {
	srv, err := demo.Start(ctx, "127.0.0.1:0", demo.Options{Password: d.secrets.password, Variant: variant})
	if err != nil {
		return nil, fmt.Errorf("demo server: %w", err)
	}
	d.servers = append(d.servers, srv)
	return srv, nil
}

func (d *run) closeServers() {
	for _, s := range d.servers {
		s.Close()
	}
}

// RecordError is a failure of the live recording with a browser, which
// Options.Bundled avoids.
type RecordError struct{ Err error }

func (e *RecordError) Error() string { return "recording the UI flow: " + e.Err.Error() }
func (e *RecordError) Unwrap() error { return e.Err }

// record captures the built-in flow on a first demo server.
func (d *run) record(ctx context.Context) error {
	srv, err := d.server(ctx, "")
	if err != nil {
		return err
	}
	d.say("1. demo server A at %s (user %s)", srv.URL, srv.User)
	execPath := d.Browser
	if execPath == "" && !d.Bundled {
		execPath, _ = chromium.Find()
	}
	if d.Bundled || execPath == "" {
		if !d.Bundled {
			d.say("   no Chromium found (install it with: apt-get install chromium, or set APITAPE_BROWSER);")
		}
		d.say("2. using the recording of the same UI flow bundled with apitape (already redacted)")
		d.rawHAR = bundled
		return nil
	}
	steps, err := browser.ParseSteps("built-in steps", builtinSteps)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "apitape-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	raw := filepath.Join(tmp, "raw.har")
	env := map[string]string{
		"APITAPE_DEMO_USER":       srv.User,
		"APITAPE_DEMO_PASSWORD":   d.secrets.password,
		"APITAPE_DEMO_ACCESS_KEY": d.secrets.accessKey,
		"APITAPE_DEMO_SECRET_KEY": d.secrets.secretKey,
	}
	d.say("2. recording the UI flow with headless Chromium (%d steps: log in, add a cloud credential,", len(steps))
	d.say("   create cluster demo-lab, edit it, add a node pool, download its kubeconfig)")
	res, err := browser.Record(ctx, browser.Options{
		URL:       srv.URL + "/",
		Steps:     steps,
		StepsFile: "built-in steps",
		Getenv:    func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Browser:   execPath,
		Headless:  true,
		Timeout:   90 * time.Second,
		Output:    raw,
		Version:   d.Version,
	})
	if err != nil {
		return &RecordError{Err: err}
	}
	d.res.Recorded = true
	d.say("   %s", res.Summary)
	d.rawHAR, err = os.ReadFile(raw)
	return err
}

// redact writes session.har, the recording with every secret replaced, and
// checks it with scan.
func (d *run) redact(ctx context.Context) error {
	r, err := redact.New(redact.Options{})
	if err != nil {
		return err
	}
	var out bytes.Buffer
	var records []redact.Record
	sum, err := r.Stream(bytes.NewReader(d.rawHAR), &out, redact.StreamOptions{
		Name:     "recording",
		OnRecord: func(rec redact.Record) { records = append(records, rec) },
	})
	if err != nil {
		return fmt.Errorf("redacting: %w", err)
	}
	if len(sum.Residual) > 0 {
		return fmt.Errorf("redaction left %d secrets", len(sum.Residual))
	}
	d.rawHAR = nil
	if err := atomicfile.WriteFile(d.path("session.har"), out.Bytes(), 0o600); err != nil {
		return err
	}
	report, _ := json.MarshalIndent(map[string]any{"summary": sum, "redactions": records}, "", "  ")
	if err := atomicfile.WriteFile(d.path("redaction-report.json"), append(report, '\n'), 0o600); err != nil {
		return err
	}
	findings, err := redact.ScanHAR(bytes.NewReader(out.Bytes()), "session.har")
	if err != nil {
		return err
	}
	if len(findings) > 0 {
		return fmt.Errorf("scan found %d secrets in session.har after redaction", len(findings))
	}
	h, err := har.ReadAll(bytes.NewReader(out.Bytes()), "session.har")
	if err != nil {
		return err
	}
	d.res.Calls, d.res.Redactions = len(h.Log.Entries), sum.Redactions
	if sum.Redactions == 0 {
		d.say("3. redact: %d calls, nothing left to replace; scan finds no secret", d.res.Calls)
	} else {
		d.say("3. redacted: %d calls, %d secrets replaced by placeholders; scan finds nothing left", d.res.Calls, sum.Redactions)
	}
	d.file("session.har", "the recording, redacted: safe to share (placeholders instead of secrets)")
	d.file("redaction-report.json", "what was redacted, where, and the placeholder (never the value)")
	return nil
}

func (d *run) convert(ctx context.Context) error {
	outputs := []struct {
		format, name string
		mode         os.FileMode
		what         string
	}{
		{"curl", "session.curl", 0o600, "one curl command per call, paste-ready"},
		{"bash", "provision.sh", 0o700, "a provisioning script: creates the cluster on any server"},
		{"go", "provision.go", 0o600, "the same as a Go program (standard library only)"},
		{"vars", "vars.txt", 0o600, "the ids one call creates and the later calls that use them"},
	}
	// One reading of the recording makes every format.
	var outs []convert.Output
	bufs := make([]bytes.Buffer, len(outputs))
	for i, o := range outputs {
		outs = append(outs, convert.Output{Format: o.format, W: &bufs[i]})
	}
	in, err := os.Open(d.path("session.har"))
	if err != nil {
		return err
	}
	_, err = convert.ConvertTo(har.NewReader(in, "session.har"), outs, convert.Options{Name: "session.har"})
	in.Close()
	if err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	var made []string
	for i, o := range outputs {
		if err := atomicfile.WriteFile(d.path(o.name), bufs[i].Bytes(), o.mode); err != nil {
			return err
		}
		d.file(o.name, o.what)
		made = append(made, o.name)
	}
	if err := d.writeGoMod(); err != nil {
		return err
	}
	d.say("4. converted: %s", strings.Join(made, ", "))
	return nil
}

// artifacts are the files a run writes into its folder (go.mod and
// responses/ look after themselves).
var artifacts = []string{"session.har", "redaction-report.json", "session.curl", "provision.sh", "provision.go", "vars.txt",
	"replay-fresh.html", "replay-fresh.txt", "replay-fresh.json", "replay-variant.html", "replay-variant.txt", "replay-variant.json"}

// dirMarker marks a folder as a demo's, so that a later run may replace
// its artifacts.
const dirMarker = ".apitape-demo"

// claimDir refuses a folder that holds a file of an artifact's name that no
// demo wrote (--dir . after the Quick start, which leaves session.har and
// provision.sh there), before anything is written; otherwise it marks the
// folder as the demo's. A folder whose go.mod an earlier demo wrote, from
// before the marker, is the demo's too.
func claimDir(dir string) error {
	marker := filepath.Join(dir, dirMarker)
	_, err := os.Stat(marker)
	ours := err == nil
	if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte(goModMark)) {
		ours = true
	}
	if !ours {
		var theirs []string
		for _, name := range artifacts {
			if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
				theirs = append(theirs, name)
			}
		}
		if len(theirs) > 0 {
			sort.Strings(theirs)
			return fmt.Errorf("%s already has %s, which apitape demo did not write: give another --dir (nothing was written)", dir, strings.Join(theirs, ", "))
		}
	}
	return atomicfile.WriteFile(marker, []byte("apitape demo wrote this folder; a later run replaces its files\n"), 0o600)
}

// goModMark begins the go.mod a demo writes.
const goModMark = "// Written by apitape demo"

// goMod makes the artifact folder a module of its own. Without it, a demo
// run inside a Go module (the apitape repository itself, after
// `go run ./cmd/apitape demo`) left provision.go as a package of that
// module, and `go vet ./...` and `go test ./...` there picked it up. The
// first line marks the file as apitape's, so a later run may replace it.
const goMod = `// Written by apitape demo: provision.go is a program of its own.
module apitape-demo

go 1.22
`

// writeGoMod writes goMod into the folder unless a go.mod that apitape did
// not write is already there (--dir pointing into a project).
func (d *run) writeGoMod() error {
	path := d.path("go.mod")
	if old, err := os.ReadFile(path); err == nil && !bytes.HasPrefix(old, []byte(goModMark)) {
		d.say("   left %s alone: it is not apitape's", path)
		return nil
	}
	if err := atomicfile.WriteFile(path, []byte(goMod), 0o600); err != nil {
		return err
	}
	d.file("go.mod", "makes provision.go a module of its own: cd there and go run provision.go")
	return nil
}

// secretEnv gives a value to every placeholder the recording's requests
// carry that no answer handed out (those a replay or script learns from the
// live answer): the login password gets the fresh servers' password (they
// share it), the rest (the cloud credential's keys, a CSRF token whose
// cookie the page load set) made-up values, as a person would export their
// own.
func (d *run) secretEnv() (map[string]string, error) {
	data, _ := os.ReadFile(d.path("session.har"))
	h, err := har.ReadAll(bytes.NewReader(data), "session.har")
	if err != nil {
		return nil, err
	}
	handedOut := map[string]bool{} // by an answer before a request used it
	env := map[string]string{}
	for _, e := range h.Log.Entries {
		body := string(e.Request.Body())
		if strings.Contains(e.Request.URL, "action=login") {
			var login struct{ Password string }
			if json.Unmarshal([]byte(body), &login) == nil && placeholder.Contains(login.Password) {
				env[placeholder.EnvName(login.Password)] = d.secrets.password
			}
		}
		text := e.Request.URL + "\n" + body
		for _, nv := range e.Request.Headers {
			text += "\n" + nv.Value
		}
		for _, loc := range placeholder.FindAll(text) {
			ph := text[loc[0]:loc[1]]
			name := placeholder.EnvName(ph)
			if _, ok := env[name]; !ok && !handedOut[ph] {
				env[name] = "demo-" + strings.ToLower(name[len(name)-8:])
			}
		}
		answer := ""
		if e.Response.Content.Text != nil {
			answer = *e.Response.Content.Text
		}
		for _, nv := range e.Response.Headers {
			answer += "\n" + nv.Value
		}
		for _, loc := range placeholder.FindAll(answer) {
			if ph := answer[loc[0]:loc[1]]; env[placeholder.EnvName(ph)] == "" {
				handedOut[ph] = true
			}
		}
	}
	return env, nil
}

// runScript runs provision.sh against a fresh server B and lists the
// clusters it made there.
func (d *run) runScript(ctx context.Context) error {
	srv, err := d.server(ctx, "")
	if err != nil {
		return err
	}
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			d.say("5. skipped running provision.sh: %s is not installed", tool)
			return nil
		}
	}
	env, err := d.secretEnv()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "bash", d.path("provision.sh"))
	cmd.Env = append(os.Environ(), "BASE_URL="+srv.URL, "RANCHER_TOKEN="+srv.APIKey, "APITAPE_RESPONSES="+filepath.Join(d.Dir, "responses"))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if err := clearResponses(filepath.Join(d.Dir, "responses")); err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("provision.sh against a fresh server failed: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	clusters, err := clusterNames(ctx, srv)
	if err != nil {
		return err
	}
	d.res.ScriptClusters = clusters
	d.say("5. ran provision.sh against fresh demo server B (%s): it now has clusters %s", srv.URL, strings.Join(clusters, ", "))
	d.file("responses/", "what server B answered to each call of provision.sh: live answers, new secrets included (private files: never share them)")
	return nil
}

// clearResponses makes dir and removes the answers an earlier run left in
// it, and nothing else: with --dir pointing into a project, responses/ may
// be the user's own.
func clearResponses(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if respFile.MatchString(e.Name()) && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// respFile is the name of an answer file that provision.sh writes.
var respFile = regexp.MustCompile(`^resp-[0-9]+\.(body|headers)$`)

func clusterNames(ctx context.Context, srv *demo.Running) ([]string, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v3/clusters", nil)
	req.Header.Set("Authorization", "Bearer "+srv.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var coll struct {
		Data []struct{ Name string } `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&coll); err != nil {
		return nil, err
	}
	var names []string
	for _, c := range coll.Data {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	return names, nil
}

func (d *run) replay(ctx context.Context, srv *demo.Running, stem string) (*replay.Result, error) {
	env, err := d.secretEnv()
	if err != nil {
		return nil, err
	}
	r, err := replay.New(srv.URL, replay.WithEnv(func(k string) string { return env[k] }), replay.WithSource("session.har"))
	if err != nil {
		return nil, err
	}
	in, err := os.Open(d.path("session.har"))
	if err != nil {
		return nil, err
	}
	defer in.Close()
	res, err := r.RunReader(ctx, har.NewReader(in, "session.har"), &selection.Filter{})
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		ext   string
		write func(io.Writer, *replay.Result) error
	}{
		{".txt", func(w io.Writer, r *replay.Result) error { return replay.WriteText(w, r) }},
		{".html", replay.WriteHTML},
		{".json", replay.WriteJSON},
	} {
		var buf bytes.Buffer
		if err := f.write(&buf, res); err != nil {
			return nil, err
		}
		if err := atomicfile.WriteFile(d.path(stem+f.ext), buf.Bytes(), 0o600); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (d *run) replayFresh(ctx context.Context) error {
	srv, err := d.server(ctx, "")
	if err != nil {
		return err
	}
	res, err := d.replay(ctx, srv, "replay-fresh")
	if err != nil {
		return err
	}
	s := res.Summary
	d.res.FreshRegressions = s.Regressions + s.Failed + s.Errors
	d.say("6. replayed session.har against fresh demo server C: %d calls, %d passed; %s", s.Calls, s.Passed, replay.Headline(s))
	d.say("   (ids, uuids, timestamps, links and the session differ; apitape maps and ignores them)")
	d.file("replay-fresh.html", "replay against a fresh server: no regressions (also .txt, .json)")
	if d.res.FreshRegressions > 0 {
		return fmt.Errorf("replay against a fresh demo server: %s; see %s", replay.Headline(s), d.path("replay-fresh.txt"))
	}
	return nil
}

func (d *run) replayVariant(ctx context.Context) error {
	const variant = demo.VariantRenameField
	srv, err := d.server(ctx, variant)
	if err != nil {
		return err
	}
	res, err := d.replay(ctx, srv, "replay-variant")
	if err != nil {
		return err
	}
	var first string
	for _, c := range res.Calls {
		for _, diff := range c.Differences {
			if first == "" && diff.Failing {
				first = fmt.Sprintf("call %d %s %s: %s %s", c.Index, c.Method, c.Path, diff.Path, diff.Change)
			}
		}
	}
	d.res.VariantRegression = first
	d.say("7. replayed against demo server D started with --variant %s: %s", variant, replay.Headline(res.Summary))
	if first != "" {
		d.say("   first: %s", first)
	}
	d.file("replay-variant.html", "replay against a changed server: the regression, side by side (also .txt, .json)")
	if res.Summary.Regressions == 0 {
		return errors.New("the variant server's change was not reported")
	}
	return nil
}

func (d *run) summary() {
	d.say("")
	d.say("Everything is in %s:", d.Dir)
	for _, f := range d.res.Files {
		d.say("  %-22s %s", f.Name, f.What)
	}
	d.say("")
	for _, block := range d.nextLines() {
		d.say("%s", block.title)
		for _, l := range block.lines {
			d.say("  %s  # %s", l[0], l[1])
		}
	}
}

// nextBlock is a titled list of shell lines with a comment each.
type nextBlock struct {
	title string
	lines [][2]string
}

// nextLines are what to try after the demo, spelled with the command that
// ran it and the folder it wrote, so that each line works as printed from
// the same directory. The first block runs on the demo's files as is; the
// second needs a real server's URL and says what README's quick start says
// (TestNextMatchesQuickStart keeps the two together).
func (d *run) nextLines() []nextBlock {
	cmd := d.Command
	if cmd == "" {
		cmd = "apitape"
	}
	q := func(name string) string { return shellquote.Quote(d.path(name)) }
	return []nextBlock{
		{"Next, on the demo's files:", [][2]string{
			{cmd + " scan " + q("session.har") + " " + q("provision.sh"), "proof that nothing secret is left"},
			{cmd + " inspect " + q("session.har"), "which ids later calls take from earlier answers"},
			{cmd + " convert " + q("session.har") + " --to curl --entries 0-2", "the first three calls as curl commands"},
			{"(cd " + shellquote.Quote(d.Dir) + " && go vet .)", "provision.go is a module of its own"},
		}},
		{"Then on a real server:", [][2]string{
			{cmd + " capture browser https://rancher.example -o session.har", "click through the UI, close the window"},
			{cmd + " convert session.har --to bash -o provision.sh", "secrets become environment variables, listed at its top"},
			{"BASE_URL=https://staging.example APITAPE_SECRET_PASSWORD_…='your password' ./provision.sh", "the login you recorded"},
			{cmd + " convert session.har --to bash --auth 'Authorization: Bearer $RANCHER_TOKEN' -o provision.sh", "or an API key instead"},
			{"BASE_URL=https://staging.example RANCHER_TOKEN=token-… ./provision.sh", "create the same objects there"},
			{cmd + " replay session.har --target https://staging.example --allow-mutations --report html -o report.html", "diff its answers"},
		}},
	}
}
