package agent365exporter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/agent365-otel/agent365exporter/internal/metadata"
)

// An auth extension the host does not have fails the start, not the first
// request.
func TestStartFailsWithoutTheAuthenticator(t *testing.T) {
	factory := NewFactory()
	cm, err := confmaptest.LoadConf("testdata/config.yaml")
	require.NoError(t, err)
	full, err := cm.Sub("agent365/full")
	require.NoError(t, err)
	cfg := factory.CreateDefaultConfig()
	require.NoError(t, full.Unmarshal(&cfg))
	exp, err := factory.CreateTraces(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.Error(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, exp.Shutdown(context.Background()))
}
