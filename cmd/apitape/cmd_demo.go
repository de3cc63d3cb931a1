package main

import (
	"context"
	"errors"
	"fmt"
)

const demoUsage = `Usage:
    apitape demo                 run the whole pipeline on the built-in demo server
    apitape demo serve [flags]   run the demo server and UI until interrupted

Run 'apitape demo serve --help' for the server's flags.
`

func demoCommand() *command {
	serve := demoServeCommand()
	return &command{
		name:    "demo",
		summary: "try apitape end to end on a built-in Rancher-like server",
		usage:   demoUsage,
		run: func(ctx context.Context, st *streams, args []string) error {
			if len(args) > 0 && args[0] == "serve" {
				return usageFor("demo serve", serve.run(ctx, st, args[1:]))
			}
			if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
				fmt.Fprint(st.out, demoUsage)
				return nil
			}
			return errors.New("the demo pipeline is not built yet; try 'apitape demo serve'")
		},
	}
}
