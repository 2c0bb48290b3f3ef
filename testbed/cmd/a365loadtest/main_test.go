package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agent365-otel/agent365exporter/testbed/internal/loadtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestWriteSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	require.NoError(t, os.WriteFile(path, []byte("# Benchmarks\n\n<!-- soak:begin -->\nold\n<!-- soak:end -->\n\ntail\n"), 0o644))
	var out bytes.Buffer
	require.NoError(t, writeSection(path, "soak", "## Soak\nnew\n", &out))
	require.NoError(t, writeSection(path, "loadtest", "## Load\n", &out))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "# Benchmarks\n\n<!-- soak:begin -->\n## Soak\nnew\n<!-- soak:end -->\n\ntail\n\n<!-- loadtest:begin -->\n## Load\n<!-- loadtest:end -->\n", string(got))
}

func TestMedianAndSlope(t *testing.T) {
	var samples []loadtest.Sample
	for i := range 10 {
		samples = append(samples, loadtest.Sample{At: time.Duration(i) * time.Minute, HeapAlloc: float64(100 + 2*i), Goroutines: 20 + i%2})
	}
	heap := func(s loadtest.Sample) float64 { return s.HeapAlloc }
	assert.InDelta(t, 2.0, slope(samples, heap), 1e-9, "2 per minute")
	assert.Equal(t, 110.0, median(samples, heap))
	assert.Equal(t, 0.0, median(nil, heap))
	assert.Equal(t, 0.0, slope(samples[:1], heap))
}

func TestFlags(t *testing.T) {
	var out bytes.Buffer
	assert.Error(t, run(t.Context(), []string{"-rate", "x"}, &out))
}
