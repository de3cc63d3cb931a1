// Package correlate finds the chain in a recorded session: values a
// response produced (a new cluster's id, a login token, a cookie) that
// later requests carry in their path, query, headers or body. A script
// that replays recorded ids fails on any other server; one that takes each
// value from the live response that produces it provisions again and
// again. convert and replay both use this one analysis.
//
// # Model
//
// [Analyze] returns a [Model]: one [Var] per produced value, with its
// producing call, its [Source] in that response (a JSON [Path], a header
// or a cookie) and every [Use]. [Model.Rewrite] cuts a request field's
// recorded text into literal parts and variable references for emitters;
// [Model.Write] prints the model for people. [Analyzer] is the same
// analysis one entry at a time, for sessions too large to hold: it keeps
// the values responses produced and a 64-bit hash of each token requests
// carried, never the entries. Options.Reserved keeps the names a caller's
// output uses for itself (its credential variables) away from variables.
//
// # Paths
//
// JSON sources use one path syntax, a subset of jq: `.id`, `.data[0].id`,
// `.["odd key"]`. [Path.String] is the filter for `jq -er`, and
// [Source.Lookup] evaluates it in Go the way jq does, so a bash script, a
// Go program and replay read the same value.
//
// # Emitting
//
// After sending call N, read each variable of [Model.Produced](N) from its
// response: in bash `NAME=$(jq -er '<Source.JQ()>' <<<"$response")`, in
// Go [Source.Lookup]. When writing a later request field (see [SplitURL]
// for the URL's path and query), call [Model.Rewrite] and write literal
// parts as recorded and variable parts as the variable, percent-encoded
// with jq's @uri ([EscapeURI] in Go) where Part.Encoded is [EncodedURL].
// Variables marked Secret must not be printed.
package correlate
