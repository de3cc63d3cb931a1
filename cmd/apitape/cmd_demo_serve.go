package main

import (
	"context"
	"errors"
)

// demoServeCommand is `apitape demo serve` (stub until the demo server lands).
func demoServeCommand() *command {
	return &command{
		name:    "serve",
		summary: "run the built-in Rancher-like demo server and UI on loopback",
		usage:   "Usage:\n    apitape demo serve\n",
		run: func(ctx context.Context, st *streams, args []string) error {
			return errors.New("demo serve is not built yet")
		},
	}
}
