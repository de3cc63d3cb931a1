package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/apitape/apitape/internal/demo"
)

const demoServeUsageHead = `Usage:
    apitape demo serve [flags]

Runs a Rancher-like server on loopback until interrupted: the /v3 API
(login, clusters, node templates and pools, cloud credentials, API keys,
users, schemas), the /v1 provisioning call, and a web UI at its URL. Use it
to try capture, redaction, conversion and replay without a real Rancher.

It prints on stdout, one "name: value" per line: url, user, password,
api-key (an API key created for the admin; send it as
"Authorization: Bearer <api-key>") and, with --variant, variant. Requests
are logged on stderr.

Options:
    -l, --listen ADDR       listen here (default 127.0.0.1:0, a free port)
    -u, --user NAME         the admin's username (default admin)
    -p, --password PASS     the admin's password (default: a random one;
                            with --state, the stored one is kept)
        --state FILE        keep users, tokens and resources in FILE across
                            restarts (written atomically, mode 0600)
        --variant NAME      change one behaviour, to test replay diffs (below)
    -q, --quiet             do not log requests

Variants:
`

const demoServeUsageTail = `
Examples:
    apitape demo serve
    apitape demo serve --listen 127.0.0.1:8080 --password demo-password
    curl -H "Authorization: Bearer $API_KEY" http://127.0.0.1:8080/v3/clusters   # API_KEY: the api-key it printed
    apitape demo serve --state ~/.apitape-demo.json
    apitape demo serve --variant status-change
`

func demoServeUsage() string {
	var b strings.Builder
	b.WriteString(demoServeUsageHead)
	for _, v := range demo.Variants() {
		fmt.Fprintf(&b, "    %-16s %s\n", v.Name, v.Description)
	}
	b.WriteString(demoServeUsageTail)
	return b.String()
}

// runDemoServe is `apitape demo serve`.
func runDemoServe(ctx context.Context, st *streams, args []string) error {
	fs := newFlagSet("demo serve")
	listen := fs.StringP("listen", "l", "127.0.0.1:0", "address to listen on")
	user := fs.StringP("user", "u", "admin", "admin username")
	password := fs.StringP("password", "p", "", "admin password (default random)")
	statePath := fs.String("state", "", "keep the state in this file")
	variant := fs.String("variant", "", "change one behaviour")
	quiet := fs.BoolP("quiet", "q", false, "do not log requests")
	if err := parseFlags(st, fs, demoServeUsage(), args); err != nil {
		return err
	}
	// Every argument is checked before anything starts.
	if fs.NArg() > 0 {
		return usageErrorf("demo serve takes no arguments, got %q", fs.Arg(0))
	}
	host, port, err := net.SplitHostPort(*listen)
	if err != nil {
		return usageErrorf("--listen %q: want host:port, such as 127.0.0.1:8080", *listen)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return usageErrorf("--listen %q: bad port", *listen)
	}
	if *user == "" {
		return usageErrorf("--user must not be empty")
	}
	if *variant != "" {
		var names []string
		for _, v := range demo.Variants() {
			names = append(names, v.Name)
		}
		if !slices.Contains(names, *variant) {
			return usageErrorf("--variant %q is not one of %s", *variant, strings.Join(names, ", "))
		}
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		warningf(st, "listening on %s, not loopback: anyone who can reach it can log in with the printed credentials", *listen)
	}

	var mu sync.Mutex // handlers log concurrently
	logf := func(format string, args ...any) {
		if *quiet && !strings.HasPrefix(format, "error:") {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(st.err, "apitape: demo: "+format+"\n", args...)
	}
	r, err := demo.Start(ctx, *listen, demo.Options{
		User: *user, Password: *password, StatePath: *statePath, Variant: *variant, Logf: logf,
	})
	if err != nil {
		return err
	}
	printDemoInfo(st.out, r, *variant)
	mu.Lock()
	fmt.Fprintf(st.err, "apitape: demo server running at %s; open it in a browser; stop with Ctrl-C\n", r.URL)
	mu.Unlock()

	<-ctx.Done() // SIGINT or SIGTERM: a clean stop, exit 0
	return r.Close()
}

func printDemoInfo(w io.Writer, r *demo.Running, variant string) {
	password := r.Password
	if password == "" {
		password = "(unchanged, kept in the --state file)"
	}
	fmt.Fprintf(w, "url: %s\nuser: %s\npassword: %s\napi-key: %s\n", r.URL, r.User, password, r.APIKey)
	if variant != "" {
		fmt.Fprintf(w, "variant: %s\n", variant)
	}
}
