package redact

import (
	"context"
	"testing"

	"github.com/apitape/apitape/internal/demo"
)

const demoPassword = "demo-password-for-redact-tests"

func startDemo(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := demo.Start(ctx, "127.0.0.1:0", demo.Options{Password: demoPassword})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); srv.Close() })
	return srv.URL
}
