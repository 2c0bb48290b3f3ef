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
	defer tb.Shutdown()
	tb.ReceiverAgent365RejectedSpans.Add(context.Background(), 2)
	tb.ReceiverAgent365Requests.Add(context.Background(), 1)
	for name, unit := range map[string]string{
		"otelcol_receiver_agent365_rejected_spans": "{span}",
		"otelcol_receiver_agent365_requests":       "{request}",
	} {
		m, err := tel.GetMetric(name)
		require.NoError(t, err, name)
		require.Equal(t, unit, m.Unit, name)
	}
	_, err = NewTelemetryBuilder(componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
}
