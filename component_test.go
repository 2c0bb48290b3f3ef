package agent365exporter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/metadata"
)

func TestComponentFactoryType(t *testing.T) {
	require.Equal(t, "agent365", NewFactory().Type().String())
	require.Equal(t, metadata.TracesStability, NewFactory().TracesStability())
}

func TestComponentLifecycle(t *testing.T) {
	factory := NewFactory()
	cm, err := confmaptest.LoadConf("testdata/config.yaml")
	require.NoError(t, err)
	sub, err := cm.Sub("agent365")
	require.NoError(t, err)
	cfg := factory.CreateDefaultConfig()
	require.NoError(t, sub.Unmarshal(&cfg))

	t.Run("shutdown without start", func(t *testing.T) {
		exp, err := factory.CreateTraces(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
		require.NoError(t, err)
		require.NoError(t, exp.Shutdown(context.Background()))
	})
	t.Run("start, empty batch, shutdown", func(t *testing.T) {
		exp, err := factory.CreateTraces(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
		require.NoError(t, err)
		require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
		require.NoError(t, exp.ConsumeTraces(context.Background(), ptrace.NewTraces()))
		require.NoError(t, exp.Shutdown(context.Background()))
	})
	t.Run("missing authenticator fails at start", func(t *testing.T) {
		full, err := cm.Sub("agent365/full")
		require.NoError(t, err)
		fullCfg := factory.CreateDefaultConfig()
		require.NoError(t, full.Unmarshal(&fullCfg))
		exp, err := factory.CreateTraces(context.Background(), exportertest.NewNopSettings(metadata.Type), fullCfg)
		require.NoError(t, err)
		err = exp.Start(context.Background(), componenttest.NewNopHost())
		require.Error(t, err)
		require.NoError(t, exp.Shutdown(context.Background()))
	})
}
