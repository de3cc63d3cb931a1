// Package replay re-sends recorded calls to any server and compares its
// answers with the recorded ones, with the noise cancelled, so that a
// recording becomes a regression test.
//
//	r, err := replay.New("http://127.0.0.1:8080",
//		replay.WithConcurrency(8),
//		replay.WithIgnore(rule),
//		replay.WithNoiseRuns(2))
//	res, err := r.RunReader(ctx, har.NewReader(f, "session.har"), &sel)
//	replay.WriteText(os.Stdout, res)
//
// # Sending
//
// Each call goes to the target: its scheme, host, port and path prefix
// replace the recorded ones; the recorded path and query are sent byte for
// byte (only bytes that cannot appear on a request line are
// percent-encoded), and so is the body. Hop-by-hop headers, HTTP/2
// pseudo-headers, Host and Content-Length are dropped (the last two are
// recomputed); Origin and Referer follow the target; Accept-Encoding keeps
// the codings this package can decode. CORS preflights and WebSockets are
// skipped. Redirects are not followed: every hop is its own recorded entry.
//
// Redaction placeholders (REDACTED-<class>-<id>) take their values from
// environment variables (APITAPE_SECRET_<CLASS>_<ID>), escaped for where
// they stand (path, query, JSON or form body). A placeholder that an earlier
// recorded response carries — a session cookie set at login — needs no
// variable: its live value is learned at replay (see Correlation). Run checks every call
// before sending anything, and returns a [PreflightError] listing every
// missing variable, or the calls that would change state (any method but
// GET, HEAD, OPTIONS and TRACE, and Rancher's ?_method=) on a target that
// is not loopback without [WithAllowMutations]. Nothing is dialled to
// decide: loopback means localhost, 127.0.0.0/8 or ::1 as written.
//
// # Order and concurrency
//
// Calls start in recorded order. A mutation is a barrier: it waits for
// every earlier call, and every later call waits for it. Between barriers
// up to [WithConcurrency] calls run at once, except that a call waits for
// the producers of the correlation variables it uses (see Correlation)
// and, while correlation is on, for the response that first revealed any
// other id-like value it sends; those answers teach the live values.
// [WithRate] spaces requests.
// After 5 calls failed to connect with no answer at all, the rest are
// skipped and the result says the target is unreachable.
//
// # Comparing
//
// Per call: the status; the headers Content-Type (media type and charset),
// Location (path and query, modulo mapped ids) and Set-Cookie (which
// cookies are set) plus those asked for with [WithCompareHeaders]; the body
// — decoded from the recording (base64 when so encoded) and from the wire
// (gzip, deflate) — as JSON structurally (package jsondiff: objects by key,
// arrays by index or, for arrays of objects with a unique name or id, as
// sets matched by it), as text with a line diff (github.com/sergi/go-diff),
// or as bytes by length and sha256. Optionally latency ([WithSlowdown]).
//
// Before comparing, recorded strings are normalised: the recorded origins
// become the target's (links, Location, kubeconfig servers), and learned
// values (see Correlation) become their live counterparts, so a recorded
// id equal to its live counterpart is not a difference.
//
// # Noise
//
// A difference is ignored, and listed in the report with the rule that
// ignored it, when:
//   - a built-in rule matches ([BuiltinRules]): RFC 3339 timestamps,
//     epoch-millisecond *TS fields, UUIDs, tokens (token fields and
//     token-shaped values), values redacted in the recording, Rancher's
//     created/creatorId/uuid/removed/state/transitioning and resource
//     versions; actions and actionLinks are the same key; volatile headers
//     (Date, Expires, ETag, …) and the CSRF cookie;
//   - an --ignore rule matches ([ParseRule]): a JSON path pattern
//     ($.data[*].uuid, **.created), a header (header:X-Request-Id), or a
//     regular expression both values match (re:^c-[a-z0-9]{5}$);
//   - noise runs saw it change ([WithNoiseRuns]): every call that does not
//     change state is sent N more times to the baseline (the target itself,
//     or [WithBaseline]) right after the real call, and any JSON path
//     (array steps generalised to [*]), header or non-JSON body that
//     differed between those answers is noise for every call. This is
//     Diffy's primary/secondary idea done in time, without a third server;
//     unlike Diffy it does not weigh rates: a field seen changing once is
//     noise.
//
// # Correlation
//
// Ids and tokens a server chooses differ between servers. Before sending,
// Run analyses the selected calls with package correlate, the analysis
// convert uses too (and `apitape inspect` prints): each variable is a
// value one call's answer produced and later requests use, with its
// source in that answer and its use sites. When the producing call is
// answered, the variable's live value is read at its source
// ([correlate.Source.Lookup]); every later request sends it at the use
// sites ([correlate.Model.Rewrite]), percent-encoded where the recording
// had it encoded, JSON-escaped inside JSON bodies. A value several answers
// produce binds to the producer the model chose (the latest, unless an
// earlier one is a better source). An answer without the value gets a
// note, and the uses keep the recorded value.
//
// A heuristic remains as the fallback for what the model does not cover:
// it learns recorded→live pairs where a recorded and a live answer differ
// at the same JSON path under an id-like key, from Set-Cookie values and
// from Location paths, and its values go into the rest of later requests
// (whole values, also URL-encoded). Comparisons use both, the model's
// pair winning for the same recorded value. Every pair is listed in the
// result, the model's with their variable's name.
//
// [WithCorrelation] with Disabled (--no-correlate) sends every request as
// recorded, except the values of declared variables (correlate.Options
// Extra, --var): nothing else is carried from an answer into a later
// call, and a placeholder a recorded answer carries then needs its
// environment variable. The heuristic still learns, for comparisons only.
//
// # Results
//
// A [Result] holds one [Call] per selected entry with its [Outcome]. A call
// that fails after an earlier call failed to produce what it needed (a
// create that answered 422, so the edit of the created object got 404) is
// marked AffectedBy that call. Reporters: [WriteText], [WriteJSON] (schema
// in REPORT.md), [WriteJUnit], [WriteHTML]; [WriteDryRun] for plans. No
// report shows a value that stood for a placeholder, a --header variable or
// a secret the target handed out: they are replaced by their placeholder
// or a mask.
package replay
