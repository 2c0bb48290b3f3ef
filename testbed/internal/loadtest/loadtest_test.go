package loadtest

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseStatCPU(t *testing.T) {
	stat := "4242 (otel col) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 12 0 100 0 0"
	got, err := parseStatCPU(stat)
	require.NoError(t, err)
	assert.InDelta(t, 3.25, got, 1e-9)
	_, err = parseStatCPU("garbage")
	assert.Error(t, err)
}

func TestParseStatusMemory(t *testing.T) {
	rss, peak, err := parseStatusMemory([]byte("Name:\totelcol\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n"))
	require.NoError(t, err)
	assert.Equal(t, int64(100<<20), rss)
	assert.Equal(t, int64(200<<20), peak)
	_, _, err = parseStatusMemory([]byte("Name: x\n"))
	assert.Error(t, err)
}

func TestMetricsAndQuantiles(t *testing.T) {
	text := `# HELP otelcol_exporter_agent365_request_duration_seconds x
# TYPE otelcol_exporter_agent365_request_duration_seconds histogram
otelcol_exporter_agent365_request_duration_seconds_bucket{exporter="agent365",le="0.05"} 0
otelcol_exporter_agent365_request_duration_seconds_bucket{exporter="agent365",le="0.06"} 50
otelcol_exporter_agent365_request_duration_seconds_bucket{exporter="agent365",le="0.1"} 99
otelcol_exporter_agent365_request_duration_seconds_bucket{exporter="agent365",le="+Inf"} 100
otelcol_exporter_agent365_request_duration_seconds_count{exporter="agent365"} 100
otelcol_exporter_sent_spans{exporter="agent365"} 1234
otelcol_exporter_agent365_dropped_spans{exporter="agent365",reason="missing_operation"} 3
otelcol_exporter_agent365_dropped_spans{exporter="agent365",reason="rejected_by_service"} 4
`
	m := ParseMetrics(text)
	assert.Equal(t, 1234.0, m.Sum("otelcol_exporter_sent_spans"))
	assert.Equal(t, 7.0, m.Sum("otelcol_exporter_agent365_dropped_spans"))
	assert.Equal(t, 4.0, m.Sum("otelcol_exporter_agent365_dropped_spans", `reason="rejected_by_service"`))
	b := m.Histogram("otelcol_exporter_agent365_request_duration_seconds")
	require.Len(t, b, 4)
	assert.InDelta(t, 0.06, Quantile(b, 0.5), 1e-9)
	assert.InDelta(t, 0.1, Quantile(b, 0.99), 1e-9)
	assert.InDelta(t, 0.055, Quantile(b, 0.25), 1e-9)
	assert.True(t, math.IsNaN(Quantile(nil, 0.5)))
}
