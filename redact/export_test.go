package redact

// Internal test helpers for the external tests (package redact_test),
// which may import replay: replay imports redact, so package redact's own
// tests cannot.
var (
	RedactString    = redactString
	NewTestRedactor = newTestRedactor
	MustParse       = mustParse
	ReqHeader       = reqHeader
	FirstPH         = firstPH
	PlaceholderRe   = placeholderRe
	StartDemo       = startDemo
)

const DemoPassword = demoPassword
