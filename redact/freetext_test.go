package redact

import (
	"strings"
	"testing"
)

// TestPasswordAssignmentsInText: an unquoted password assigned in a
// shell script, an .env file or a text/plain body (password=…, export
// DB_PASSWORD=…, --password=…) is a secret to scan and to redact; an
// empty value, a reference to a variable, a call, a template and a
// documentation placeholder are not.
func TestPasswordAssignmentsInText(t *testing.T) {
	const pw = "supersecretpw-2024"
	for _, tc := range []struct {
		text   string
		secret bool
	}{
		{"password=" + pw + "\n", true},
		{"#!/bin/sh\nexport DB_PASSWORD=" + pw + "\npsql -h db\n", true},
		{"mysql --user=app --password=" + pw + " shop\n", true},
		{"DB_HOST=db\nDB_PASSWORD=" + pw + "\n", true},
		{"password=Xk2p9LqZ7vR4mW1c\n", true},
		{`password="` + pw + `"` + "\n", true},
		{"password=\n", false},
		{"password=$PASSWORD\n", false},
		{"export DB_PASSWORD=$DB_PASSWORD_FROM_VAULT\n", false},
		{"password=${PASSWORD}\n", false},
		{"password=$(cat /run/secrets/db)\n", false},
		{"password=<your password>\n", false},
		{`password="<your password>"` + "\n", false},
		{"password=%DB_PASSWORD%\n", false},
		{"password={{ .Values.password }}\n", false},
		{"x.password=e.password;y=1\n", false},
		{"password=getPassword();\n", false},
		{"password=changeme\n", false}, // an identifier: code assigning a variable
		{"password=********\n", false},
	} {
		t.Run(strings.TrimSpace(tc.text), func(t *testing.T) {
			fs, err := ScanText(strings.NewReader(tc.text), "s.sh")
			if err != nil {
				t.Fatal(err)
			}
			if got := len(fs) > 0; got != tc.secret {
				t.Errorf("scan: findings %v, want secret=%v", fs, tc.secret)
			}
			in := harOf(ent{mime: "text/plain", text: tc.text}.json())
			out, sum, _ := redactString(t, newTestRedactor(t, Options{}), in)
			if len(sum.Residual) > 0 {
				t.Errorf("redact: residual %v", sum.Residual)
			}
			switch {
			case tc.secret && strings.Contains(out, pw):
				t.Errorf("redact: %q survived", pw)
			case tc.secret && !strings.Contains(out, "REDACTED-password-"):
				t.Errorf("redact: no password placeholder in %s", out)
			case !tc.secret && out != in:
				t.Errorf("redact changed a text without a secret:\n%s", out)
			}
		})
	}
}
