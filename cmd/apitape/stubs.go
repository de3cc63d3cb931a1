package main

import (
	"context"
	"errors"
)

// Commands not built yet. Each moves to its own file as it lands.

func notYet(name, summary string) *command {
	return &command{
		name:    name,
		summary: summary + " (not built yet)",
		usage:   "Usage:\n    apitape " + name + "\n\nNot built yet.\n",
		run: func(ctx context.Context, st *streams, args []string) error {
			return errors.New(name + " is not built yet")
		},
	}
}
