package main

import (
	"context"
	"errors"
)

// captureBrowserCommand is 'apitape capture browser'. Placeholder until the
// browser capture lands; its owner replaces this file.
func captureBrowserCommand() *command {
	const usage = "Usage:\n    apitape capture browser URL -o FILE\n\nNot built yet.\n"
	return &command{
		name:    "browser",
		summary: "record the calls a web UI makes in Chromium (not built yet)",
		usage:   usage,
		run: func(ctx context.Context, st *streams, args []string) error {
			return errors.New("capture browser is not built yet")
		},
	}
}
