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
	tb.Agent365authTokenAcquisitions.Add(context.Background(), 1)
	tb.Agent365authCacheHits.Add(context.Background(), 2)
	tb.Agent365authCacheEvictions.Add(context.Background(), 3)
	m, err := tel.GetMetric("otelcol_agent365auth_token_acquisitions")
	require.NoError(t, err)
	require.Equal(t, "{acquisition}", m.Unit)
	m, err = tel.GetMetric("otelcol_agent365auth_cache_hits")
	require.NoError(t, err)
	require.Equal(t, "{hit}", m.Unit)
	m, err = tel.GetMetric("otelcol_agent365auth_cache_evictions")
	require.NoError(t, err)
	require.Equal(t, "{eviction}", m.Unit)
	require.Equal(t, "agent365auth", Type.String())
	_, err = NewTelemetryBuilder(componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
}
