package convert

import _ "embed"

// The parts of the generated programs that do not depend on the recording
// are sources in their own languages under runtime/, so that they are
// edited, highlighted and checked as such (TestRuntimeSources). Each file
// holds the text as it is written, without the blank line before it.
var (
	// goHelpers is the runtime of a generated program: a session with the
	// environment and a client that adds nothing the recording lacked, and
	// requests that keep header names, order and repetitions.
	//go:embed runtime/session.go.txt
	goHelpers string
	// goHostCaseHelpers send a Host header spelt otherwise than "Host" as
	// recorded; only the programs that need them get them.
	//go:embed runtime/hostcase.go.txt
	goHostCaseHelpers string
	// goTakeHelpers read the values later calls need from an answer, as jq
	// and the shell do in the bash script (correlate.Source.Lookup's rules).
	//go:embed runtime/take.go.txt
	goTakeHelpers string
	// goURIHelper percent-encodes a value where the recording had it so.
	//go:embed runtime/uri.go.txt
	goURIHelper string

	// pyNotExact is what requests sends that the recording may not have
	// had; the head of the script and the README list it.
	//go:embed runtime/not_exact.py
	pyNotExact string
	// pyRuntime sends the calls exactly and reads values from answers; it is
	// the same in the script and the locustfile.
	//go:embed runtime/runtime.py
	pyRuntime string
	// pyScriptSession runs the calls once, printing the failing call's
	// answer (masked) and a summary line.
	//go:embed runtime/script.py
	pyScriptSession string
	// pyLocustSession is one user's round of the calls; locustTail, after
	// run(s), the Locust user that runs them.
	//go:embed runtime/locust.py
	pyLocustSession string
	//go:embed runtime/locust_user.py
	locustTail string

	// fetchNotExact lists what the fetch output cannot send as recorded.
	//go:embed runtime/not_exact.mjs
	fetchNotExact string
	// fetchRuntime is the module's runtime; it imports nothing at the top,
	// so that it can be pasted into a console.
	//go:embed runtime/runtime.mjs
	fetchRuntime string

	// bashPrelude keeps the answers and checks each call; its umask 077
	// makes every file and folder the script writes private (0600, 0700),
	// since the answers hold live tokens. bashSummary ends a script that
	// sent every call.
	//go:embed runtime/bash_prelude.sh
	bashPrelude string
	//go:embed runtime/bash_summary.sh
	bashSummary string
	// bashTakeHelpers read the values later calls need from an answer kept
	// in $out (bash and HTTPie scripts). Values never reach a command line
	// (jq reads the file, the checks are shell patterns), so secrets stay
	// out of ps. bashURIHelper percent-encodes a value where the recording
	// had it so.
	//go:embed runtime/take.sh
	bashTakeHelpers string
	//go:embed runtime/uri.sh
	bashURIHelper string
	// httpieNotExact lists what HTTPie cannot send as recorded;
	// httpiePrelude and httpieSummary are the HTTPie script's bashPrelude
	// and bashSummary.
	//go:embed runtime/httpie_not_exact.sh
	httpieNotExact string
	//go:embed runtime/httpie_prelude.sh
	httpiePrelude string
	//go:embed runtime/httpie_summary.sh
	httpieSummary string
)
