// Package e2e tests the otelcol-agent365 distribution as users run it:
// real processes (the collector built by OCB, a365sink, a365demo) on
// loopback ports, started and killed by the tests.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// `make test` builds the binaries first; alone, `go test ./e2e` does.
	build := exec.Command("make", "-C", root, "build")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building the binaries failed:", err)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m)
}
