package replay

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/apitape/apitape/internal/english"
	"github.com/apitape/apitape/internal/placeholder"
	"github.com/apitape/apitape/replay/internal/jsondiff"
)

// unreachableAfter is how many calls in a row may fail to connect, with no
// answer at all so far, before the rest are skipped.
const unreachableAfter = 5

// run is the state of one Runner.Run.
type run struct {
	r               *Runner
	calls           []*call
	main            *session
	base            *session // noise runs go here; nil without noise runs
	rules           *ruleSet
	noise           *noiseSet
	limiter         *limiter
	cookiesRecorded bool

	answered     atomic.Int64
	connectFails atomic.Int64
	compareNS    atomic.Int64 // time spent comparing (and learning), for benchmarks
	progressMu   sync.Mutex
	done, failed int
}

func (r *Runner) run(ctx context.Context, items []item) (*Result, error) {
	started := time.Now()
	pr, err := r.prepare(items)
	if err != nil {
		return nil, err
	}
	calls := pr.calls
	headers := r.expandedHeaders()
	sc := newScrubber()
	for _, h := range r.headers {
		_, _, secrets := expandEnv(h.value, r.getenv)
		for _, s := range secrets {
			sc.add(s, "‹from --header "+h.name+"›")
		}
	}
	rules := r.rules
	if r.builtin {
		rules = append(BuiltinRules(), rules...)
	}
	rn := &run{r: r, calls: calls, rules: newRuleSet(rules), noise: &noiseSet{paths: map[string]bool{}, headers: map[string]bool{}}}
	rn.main = newSession(r.target, newValueMap(), newVarState(pr.model), r.carries(), r.getenv, pr.origins, headers)
	if r.noiseRuns > 0 {
		rn.base = rn.main
		if r.baseline != nil {
			rn.base = newSession(r.baseline, newValueMap(), newVarState(pr.model), r.carries(), r.getenv, pr.origins, headers)
		}
	}
	if r.rate > 0 {
		rn.limiter = &limiter{every: time.Duration(float64(time.Second) / r.rate)}
	}
	for _, c := range calls {
		if len(c.entry.Response.Headers) > 0 {
			if _, ok := c.recorded().Header["Set-Cookie"]; ok {
				rn.cookiesRecorded = true
			}
		}
		for _, ph := range requestPlaceholders(c, nil) {
			if v := r.getenv(placeholder.EnvName(ph)); v != "" {
				sc.add(v, ph)
			}
		}
	}

	rn.dispatch(ctx)
	rn.finalize()

	res := &Result{
		Schema:      SchemaVersion,
		Source:      r.source,
		Target:      r.target.raw,
		Started:     started.UTC(),
		Concurrency: r.concurrency,
		NoiseRuns:   r.noiseRuns,
		FailOn:      r.failOn,
		Interrupted: ctx.Err() != nil,
	}
	if r.baseline != nil && r.noiseRuns > 0 {
		res.Baseline = r.baseline.raw
	}
	res.Mapped = rn.main.cmp.Pairs()
	for i, p := range res.Mapped {
		if p.Secret {
			sc.add(p.Live, "‹secret›")
			res.Mapped[i].Recorded, res.Mapped[i].Live = maskSecret(p.Recorded), maskSecret(p.Live)
		}
	}
	res.finish(calls)
	res.Summary.Unreachable = rn.answered.Load() == 0 && rn.connectFails.Load() > 0
	for _, c := range res.Calls {
		sc.learnFields(c)
	}
	for _, c := range res.Calls {
		sc.call(c)
	}
	res.DurationMS = msSince(started)
	res.compareNS = rn.compareNS.Load()
	res.analyzeNS = int64(pr.analyze)
	return res, ctx.Err()
}

func msSince(t time.Time) float64 { return roundMS(float64(time.Since(t)) / float64(time.Millisecond)) }

// dispatch starts calls in recorded order, each once the calls it depends
// on are done, at most concurrency at a time.
func (rn *run) dispatch(ctx context.Context) {
	sem := make(chan struct{}, rn.r.concurrency)
	var wg sync.WaitGroup
	for _, c := range rn.calls {
		if c.pub.Skipped != "" {
			close(c.done)
			continue
		}
		for _, d := range c.deps {
			select {
			case <-rn.calls[d].done:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			c.pub.Skipped = "interrupted"
			close(c.done)
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			c.pub.Skipped = "interrupted"
			close(c.done)
			continue
		}
		// Checked with a slot in hand: the calls before have finished or
		// are in flight, so their connection failures are counted.
		if rn.answered.Load() == 0 && rn.connectFails.Load() >= unreachableAfter {
			<-sem
			c.pub.Skipped = fmt.Sprintf("target unreachable (%s could not connect)", english.Count(int(rn.connectFails.Load()), "call", ""))
			close(c.done)
			continue
		}
		wg.Add(1)
		go func(c *call) {
			defer wg.Done()
			rn.execute(ctx, c)
			<-sem
			close(c.done)
			rn.report(c)
		}(c)
	}
	wg.Wait()
}

func (rn *run) report(c *call) {
	if rn.r.progress == nil {
		return
	}
	rn.progressMu.Lock()
	defer rn.progressMu.Unlock()
	rn.done++
	if c.pub.Error != nil || c.judged != nil && len(c.judged.diffs) > 0 {
		rn.failed++
	}
	rn.r.progress(Progress{Done: rn.done, Total: len(rn.calls), Failed: rn.failed})
}

// execute sends one call, learns from its answer and compares it.
func (rn *run) execute(ctx context.Context, c *call) {
	live, dur, cerr := rn.send(ctx, c, rn.main)
	c.pub.DurationMS = roundMS(float64(dur) / float64(time.Millisecond))
	if cerr != nil {
		c.pub.Error = cerr
		if cerr.Kind == "connect" || cerr.Kind == "tls" {
			rn.connectFails.Add(1)
		}
		return
	}
	rn.answered.Add(1)
	c.pub.Status = live.Status
	c.judged = rn.judge(c, live, dur, rn.main)
	if len(c.judged.diffs) > 0 {
		c.live, c.dur = live, dur
	}
	if rn.base != nil {
		rn.noiseRun(ctx, c, live)
	}
}

// judge reads the model's variables from the answer, compares, lets the
// heuristic learn from the differences, and compares again if it learned
// something (the call's own links carry the id it just revealed).
func (rn *run) judge(c *call, live *Response, dur time.Duration, s *session) *judgement {
	start := time.Now()
	defer func() { rn.compareNS.Add(int64(time.Since(start))) }()
	missing := s.learnVars(c, live)
	if len(missing) > 0 && s == rn.main {
		c.pub.Notes = append(c.pub.Notes, missingVarsNote(missing))
	}
	j := rn.r.compare(rn, c, live, dur, s, false)
	x := &exchange{Call: c.pub.Index, Recorded: c.recorded(), Live: live, Changes: j.learnable}
	if s.learn(x) {
		j = rn.r.compare(rn, c, live, dur, s, false)
	}
	return j
}

// send sends a call to session s and reads the whole answer.
func (rn *run) send(ctx context.Context, c *call, s *session) (*Response, time.Duration, *CallError) {
	if err := rn.limiter.wait(ctx); err != nil {
		return nil, 0, &CallError{Kind: "interrupted", Message: "interrupted before sending"}
	}
	cctx, cancel := context.WithTimeout(ctx, rn.r.timeout)
	defer cancel()
	req, err := s.buildRequest(cctx, c)
	if err != nil {
		return nil, 0, &CallError{Kind: "request", Message: err.Error()}
	}
	start := time.Now()
	resp, err := rn.r.client.Do(req)
	if err != nil {
		return nil, time.Since(start), classify(ctx, err, rn.r.timeout)
	}
	defer resp.Body.Close()
	raw, err := readAll(resp.Body, resp.ContentLength, rn.r.maxBody+1)
	dur := time.Since(start)
	if err != nil {
		ce := classify(ctx, err, rn.r.timeout)
		ce.Message = fmt.Sprintf("status %d, then reading the body: %s", resp.StatusCode, ce.Message)
		return nil, dur, ce
	}
	if int64(len(raw)) > rn.r.maxBody {
		return nil, dur, &CallError{Kind: "body", Message: fmt.Sprintf("status %d with a body larger than %d bytes (the limit)", resp.StatusCode, rn.r.maxBody)}
	}
	body, err := decodeBody(resp.Header.Get("Content-Encoding"), raw, rn.r.maxBody)
	if err != nil {
		return nil, dur, &CallError{Kind: "decode", Message: fmt.Sprintf("status %d: %v", resp.StatusCode, err)}
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, dur, nil
}

// readAll reads at most limit bytes, in one allocation when the length is
// announced.
func readAll(r io.Reader, length, limit int64) ([]byte, error) {
	if length < 0 || length >= limit {
		return io.ReadAll(io.LimitReader(r, limit))
	}
	buf := make([]byte, length, length+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return buf, err
	}
	// Nothing should follow; read one more byte to see the EOF (and keep
	// the connection reusable).
	var one [1]byte
	if n, _ := r.Read(one[:]); n > 0 {
		rest, err := io.ReadAll(io.LimitReader(r, limit-length-1))
		return append(append(buf, one[0]), rest...), err
	}
	return buf, nil
}

// classify names what went wrong on the wire, without the URL (which may
// hold a substituted secret).
func classify(ctx context.Context, err error, timeout time.Duration) *CallError {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	var op *net.OpError
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var certErr x509.CertificateInvalidError
	var verifyErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	switch {
	case ctx.Err() != nil:
		return &CallError{Kind: "interrupted", Message: "interrupted"}
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return &CallError{Kind: "timeout", Message: fmt.Sprintf("no complete answer within %s", timeout)}
	case errors.As(err, &verifyErr), errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &certErr), errors.As(err, &recErr):
		return &CallError{Kind: "tls", Message: err.Error()}
	case errors.As(err, &dns):
		return &CallError{Kind: "connect", Message: err.Error()}
	case errors.As(err, &op) && op.Op == "dial":
		return &CallError{Kind: "connect", Message: err.Error()}
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &CallError{Kind: "reset", Message: "connection closed before the answer was complete: " + err.Error()}
	}
	return &CallError{Kind: "other", Message: err.Error()}
}

// decodeBody undoes a Content-Encoding.
func decodeBody(enc string, b []byte, limit int64) ([]byte, error) {
	var rd io.Reader
	switch e := strings.ToLower(strings.TrimSpace(enc)); e {
	case "", "identity":
		return b, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("invalid gzip body: %v", err)
		}
		rd = zr
	case "deflate":
		// RFC 9110 deflate is zlib-wrapped; some servers send raw deflate.
		if zr, err := zlib.NewReader(bytes.NewReader(b)); err == nil {
			rd = zr
		} else {
			rd = flate.NewReader(bytes.NewReader(b))
		}
	default:
		return nil, fmt.Errorf("cannot decode content-encoding %q", enc)
	}
	out, err := io.ReadAll(io.LimitReader(rd, limit+1))
	if err != nil {
		return nil, fmt.Errorf("invalid %s body: %v", enc, err)
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("decoded body larger than %d bytes", limit)
	}
	return out, nil
}

// finalize compares again, with everything learned and all noise known,
// the calls that differed, and attributes failures to earlier ones.
func (rn *run) finalize() {
	for _, c := range rn.calls {
		j := c.judged
		if j == nil {
			continue
		}
		if c.live != nil {
			j = rn.r.compare(rn, c, c.live, c.dur, rn.main, true)
			if slices.ContainsFunc(j.diffs, func(d Difference) bool { return d.Kind == "body" }) {
				c.pub.Rows = j.rows
			}
			c.live = nil
		}
		c.pub.Differences = j.diffs
		c.pub.Ignored = j.ignored
		c.pub.Notes = append(c.pub.Notes, j.notes...)
	}
	failedProducer := func(c *call) bool {
		p := c.pub
		return p.Skipped == "" && (p.Error != nil || p.RecordedStatus/100 == 2 && p.Status/100 != 2)
	}
	for _, c := range rn.calls {
		// Only an answer that differs can follow from an earlier failure; a
		// call that got no answer failed on its own.
		failing := slices.ContainsFunc(c.pub.Differences, func(d Difference) bool { return d.Failing })
		if !failing || c.pub.Error != nil {
			continue
		}
		for _, p := range c.producers {
			pc := rn.calls[p]
			if !failedProducer(pc) {
				continue
			}
			root := pc.pub.Index
			if pc.pub.AffectedBy != nil {
				root = *pc.pub.AffectedBy
			}
			c.pub.AffectedBy = &root
			break
		}
	}
}

// noiseRun replays a call against the baseline and records what differs
// between answers that should be the same.
func (rn *run) noiseRun(ctx context.Context, c *call, live *Response) {
	var samples []*Response
	same := rn.base == rn.main
	if same {
		if c.mutation {
			return // never repeat a state change on the target
		}
		samples = append(samples, live)
	}
	n := rn.r.noiseRuns
	if c.mutation {
		n = 1 // keep the baseline's state in step with the target's
	}
	for k := 0; k < n; k++ {
		resp, dur, err := rn.send(ctx, c, rn.base)
		if err != nil {
			c.pub.Notes = append(c.pub.Notes, fmt.Sprintf("noise run %d: %s: %s", k+1, err.Kind, err.Message))
			continue
		}
		if !same && k == 0 {
			rn.judge(c, resp, dur, rn.base) // teaches the baseline's mapping
		}
		samples = append(samples, resp)
	}
	if c.mutation {
		return
	}
	for k := 1; k < len(samples); k++ {
		rn.observe(c, samples[0], samples[k])
	}
}

// observe records the differences between two answers from known-good
// runs as noise.
func (rn *run) observe(c *call, a, b *Response) {
	if a.Status != b.Status {
		c.noise.status = true
	}
	for _, name := range rn.r.compareHeaders {
		if name == "*" {
			for k := range a.Header {
				if strings.Join(a.Header[k], ",") != strings.Join(b.Header[k], ",") {
					rn.noise.addHeader(k)
				}
			}
			continue
		}
		if name == "Set-Cookie" {
			if strings.Join(slices.Sorted(maps.Keys(setCookies(a.Header))), ",") != strings.Join(slices.Sorted(maps.Keys(setCookies(b.Header))), ",") {
				rn.noise.addHeader(name)
			}
			continue
		}
		if strings.Join(a.Header[name], ",") != strings.Join(b.Header[name], ",") {
			rn.noise.addHeader(name)
		}
	}
	wantJSON := c.recorded().IsJSON
	errA, errB := parseLive(a, wantJSON), parseLive(b, wantJSON)
	if a.IsJSON && b.IsJSON {
		res := jsondiff.Compare(a.JSON, b.JSON, &jsondiff.Options{Aliases: aliases})
		for _, ch := range res.Changes {
			rn.noise.addPath(ch.Path.Generic())
		}
		return
	}
	if errA != nil || errB != nil || !bytes.Equal(a.Body, b.Body) {
		c.noise.body = true
	}
}

// ignorePath is the path rules plus what noise runs found.
func (rn *run) ignorePath(p jsondiff.Path) string {
	if rule := rn.rules.ignorePath(p); rule != "" {
		return rule
	}
	if rn.noise.hasPath(p) {
		return RuleNoise
	}
	return ""
}

// callNoise is what noise runs found for one call.
type callNoise struct {
	status bool // status differed between baseline answers
	body   bool // a non-JSON body differed
}

// noiseSet is what noise runs found for all calls: JSON paths (array steps
// generalised) and header names.
type noiseSet struct {
	mu      sync.RWMutex
	paths   map[string]bool
	headers map[string]bool
}

func (n *noiseSet) addPath(p string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.paths[p] = true
}

func (n *noiseSet) addHeader(h string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.headers[h] = true
}

func (n *noiseSet) header(h string) bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.headers[h]
}

// hasPath reports whether p or one of its ancestors was noisy.
func (n *noiseSet) hasPath(p jsondiff.Path) bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if len(n.paths) == 0 {
		return false
	}
	for i := 1; i <= len(p); i++ {
		if n.paths[p[:i].Generic()] {
			return true
		}
	}
	return n.paths["$"]
}

// limiter spaces requests evenly to a rate.
type limiter struct {
	mu    sync.Mutex
	every time.Duration
	next  time.Time
}

func (l *limiter) wait(ctx context.Context) error {
	if l == nil {
		return ctx.Err()
	}
	l.mu.Lock()
	now := time.Now()
	t := l.next
	if t.Before(now) {
		t = now
	}
	l.next = t.Add(l.every)
	l.mu.Unlock()
	if d := time.Until(t); d > 0 {
		tm := time.NewTimer(d)
		defer tm.Stop()
		select {
		case <-tm.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return ctx.Err()
}
