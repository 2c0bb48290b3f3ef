// Package faults is the fault matrix: the agent365 exporter, with the real
// agent365auth extension, its sending queue and retry, against a365sink
// answering with faults, in one process.
package faults

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
