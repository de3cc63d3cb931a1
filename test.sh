#!/usr/bin/env bash
# Runs apitape's whole test suite: formatting, vet, and every package's tests
# (real curl, bash, shellcheck, Chromium and compiled Go where a test needs them).
set -euo pipefail
cd "$(dirname "$0")"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go') | grep -v '/testdata/' || true)
if [ -n "$unformatted" ]; then
  echo "gofmt needed: $unformatted" >&2
  exit 1
fi
go vet ./...
go test -count=1 -timeout 20m ./... "$@"
