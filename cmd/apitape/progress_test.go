package main

import (
	"path/filepath"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	// Every script has a per-user redaction key of its own, as a user
	// with a home directory has (testscript's HOME is /no-home).
	scriptSetups = append(scriptSetups, func(env *testscript.Env) error {
		env.Setenv("APITAPE_KEY_FILE", filepath.Join(env.WorkDir, ".apitape", "redact.key"))
		return nil
	})
}
