package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/template"

	"github.com/apitape/apitape/internal/ca"
)

const caUsage = `Usage:
    apitape ca init [--ca-dir DIR]                    create the CA if needed; show how to trust it
    apitape ca path [--ca-dir DIR]                    print the path of the CA certificate
    apitape ca export [--ca-dir DIR] [-o FILE] [--der] write the CA certificate

The capture proxy decrypts HTTPS by showing clients certificates signed by
apitape's own certificate authority. A client trusts them once it trusts the
CA certificate (ca.pem). The private key (ca-key.pem, mode 0600) never leaves
its file: none of these commands prints it.

Flags:
        --ca-dir DIR    the CA's directory (default ~/.config/apitape/ca)
    -o, --output FILE   export: write here instead of stdout
        --der           export: DER instead of PEM

Every subcommand creates the CA if there is none yet.

Examples:
    apitape ca init
    curl --proxy http://127.0.0.1:8080 --cacert "$(apitape ca path)" https://api.example/
    apitape ca export -o apitape-ca.pem
`

func runCA(ctx context.Context, st *streams, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(st.err, caUsage)
		return &exitError{code: 2}
	}
	sub := args[0]
	switch sub {
	case "-h", "--help", "help":
		fmt.Fprint(st.out, caUsage)
		return nil
	case "init", "path", "export":
	default:
		return usageErrorf("unknown ca command %q: want init, path or export", sub)
	}
	fs := newFlagSet("ca " + sub)
	dir := fs.String("ca-dir", "", "the CA's directory")
	var output *string
	var der *bool
	if sub == "export" {
		output = fs.StringP("output", "o", "", "write here instead of stdout")
		der = fs.Bool("der", false, "DER instead of PEM")
	}
	if err := parseFlags(st, fs, caUsage, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("ca %s takes no arguments, got %q", sub, fs.Arg(0))
	}
	if *dir == "" {
		var err error
		if *dir, err = ca.DefaultDir(); err != nil {
			return withHint(err, "pass --ca-dir DIR")
		}
	}
	authority, created, err := ca.LoadOrCreate(*dir)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(st.err, "apitape: created a certificate authority in %s\n", authority.Dir)
	}
	switch sub {
	case "init":
		if !created {
			fmt.Fprintf(st.err, "apitape: using the certificate authority in %s\n", authority.Dir)
		}
		return trustHowTo(st.out, authority)
	case "path":
		fmt.Fprintln(st.out, authority.CertPath())
		return nil
	}
	data := authority.CertPEM()
	if *der {
		data = authority.Cert.Raw
	}
	if ofi, err := os.Stat(*output); err == nil && *output != "-" {
		for _, own := range []string{authority.CertPath(), authority.KeyPath()} {
			if fi, err := os.Stat(own); err == nil && os.SameFile(fi, ofi) {
				return usageErrorf("-o %s is the CA's own file: exporting would replace it", *output)
			}
		}
	}
	out, err := createOutput(st, *output, 0o644) // a certificate is public
	if err != nil {
		return err
	}
	defer out.abort()
	if _, err := out.Write(data); err != nil {
		return err
	}
	return out.commit()
}

var trustTemplate = template.Must(template.New("trust").Parse(`Certificate authority of apitape's capture proxy
    certificate:  {{.Cert}}
    private key:  {{.Key}} (mode 0600; whoever has it can read what you send through the proxy)
    valid until:  {{.NotAfter}}
    SPKI SHA-256: {{.SPKI}}

Trust it in one program (start the proxy with 'apitape capture proxy -o FILE'):
    curl       curl --proxy http://127.0.0.1:8080 --cacert {{.Cert}} https://api.example/
    Go         HTTPS_PROXY=http://127.0.0.1:8080 SSL_CERT_FILE={{.Cert}} ./program
               (SSL_CERT_FILE replaces the system roots for that program only; Go
               sends calls to localhost or 127.0.0.1 around the proxy)
    Node.js    NODE_USE_ENV_PROXY=1 HTTPS_PROXY=http://127.0.0.1:8080 NODE_EXTRA_CA_CERTS={{.Cert}} node app.js
               (Node.js 22.21, 24.5 or later; older versions ignore HTTPS_PROXY and go around the proxy)
    Python     HTTPS_PROXY=http://127.0.0.1:8080 REQUESTS_CA_BUNDLE={{.Cert}} python app.py
    Chromium   chromium --proxy-server=http://127.0.0.1:8080 --user-data-dir=/tmp/apitape-profile \
                   --ignore-certificate-errors-spki-list={{.SPKI}}
               (the SPKI flag only works together with --user-data-dir; add
               --proxy-bypass-list='<-loopback>' to record calls to loopback), or import the CA
               into the NSS database of your profile (package libnss3-tools):
               certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n apitape -i {{.Cert}}

Trust it system-wide (Debian, Ubuntu; every program then trusts the proxy, so undo it when done):
    sudo cp {{.Cert}} /usr/local/share/ca-certificates/apitape-ca.crt
    sudo update-ca-certificates
    undo: sudo rm /usr/local/share/ca-certificates/apitape-ca.crt && sudo update-ca-certificates --fresh
`))

func trustHowTo(w io.Writer, c *ca.CA) error {
	return trustTemplate.Execute(w, map[string]string{
		"Cert":     c.CertPath(),
		"Key":      c.KeyPath(),
		"NotAfter": c.Cert.NotAfter.UTC().Format("2006-01-02"),
		"SPKI":     c.SPKIHash(),
	})
}
