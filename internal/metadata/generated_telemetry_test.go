package metadata

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
)

func TestTelemetryBuilder(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	tb, err := NewTelemetryBuilder(tel.NewTelemetrySettings())
	require.NoError(t, err)
	tb.ExporterAgent365DroppedSpans.Add(context.Background(), 2)
	m, err := tel.GetMetric("otelcol_exporter_agent365_dropped_spans")
	require.NoError(t, err)
	require.Equal(t, "{span}", m.Unit)
	_, err = NewTelemetryBuilder(componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
}
