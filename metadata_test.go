package agent365exporter

import (
	"context"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/agent365-otel/agent365exporter/internal/metadata"
	"github.com/agent365-otel/agent365exporter/internal/metadatacheck"
)

// mdatagen is not available for the pinned collector release, so what it
// would generate from metadata.yaml is kept by hand. These tests hold the
// hand-kept files, and the values the code emits, to metadata.yaml; the
// checks every component shares are internal/metadatacheck's.

// Every instrument the TelemetryBuilder creates is a metric of
// metadata.yaml, with its description, stability, unit, type and buckets;
// and every metric of metadata.yaml has its instrument, builder field and
// metadatatest assertion.
func TestTelemetryBuilderMatchesMetadata(t *testing.T) {
	md := metadatacheck.Load(t, "metadata.yaml")
	provider := metadatacheck.NewRecordingMeterProvider()
	set := componenttest.NewNopTelemetrySettings()
	set.MeterProvider = provider
	tb, err := metadata.NewTelemetryBuilder(set)
	require.NoError(t, err)
	defer tb.Shutdown()

	metadatacheck.CheckBuilder(t, md, provider.Created(), reflect.TypeFor[metadata.TelemetryBuilder](),
		metadatacheck.FuncNames(t, filepath.Join("internal", "metadatatest", "generated_telemetrytest.go")))
}

// documentation.md documents every metric of metadata.yaml as mdatagen
// writes it, and no other.
func TestDocumentationMatchesMetadata(t *testing.T) {
	metadatacheck.CheckDocumentation(t, metadatacheck.Load(t, "metadata.yaml"), "documentation.md")
}

// NewDefaultSendingQueueConfig is the default queue with metadata.yaml's
// sending_queue overrides, applied as mdatagen applies them.
func TestSendingQueueMatchesMetadata(t *testing.T) {
	cm, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	sub, err := cm.Sub("sending_queue::overrides")
	require.NoError(t, err)
	overrides := sub.ToStringMap()
	require.NotEmpty(t, overrides)

	cfg := exporterhelper.NewDefaultQueueConfig()
	queue := map[string]any{}
	for k, v := range overrides {
		if k != "enabled" && k != "batch" {
			queue[k] = v
		}
	}
	require.NoError(t, confmap.NewFromStringMap(queue).Unmarshal(&cfg))
	if batch, ok := overrides["batch"].(map[string]any); ok {
		batchCfg := *cfg.Batch.GetOrInsertDefault()
		rest := map[string]any{}
		for k, v := range batch {
			if k != "enabled" {
				rest[k] = v
			}
		}
		require.NoError(t, confmap.NewFromStringMap(rest).Unmarshal(&batchCfg))
		if enabled, ok := batch["enabled"].(bool); !ok || enabled {
			cfg.Batch = configoptional.Some(batchCfg)
		} else {
			cfg.Batch = configoptional.Default(batchCfg)
		}
	}
	want := configoptional.Some(cfg)
	if enabled, ok := overrides["enabled"].(bool); ok && !enabled {
		want = configoptional.Default(cfg)
	}
	assert.Equal(t, want, metadata.NewDefaultSendingQueueConfig())
}

// The attributes the exporter puts on its metrics are those metadata.yaml
// declares, with values from their enums; and each enum lists exactly the
// values the code has: every drop reason, request outcome and result status.
func TestMetadataAttributesMatchEmittedValues(t *testing.T) {
	md := metadatacheck.Load(t, "metadata.yaml")
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	set := exportertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	e, err := newExporter(createDefaultConfig().(*Config), set)
	require.NoError(t, err)
	defer e.telemetry.Shutdown()
	ctx := context.Background()

	reasons := make([]string, 0, numDropReasons)
	for r := range numDropReasons {
		reasons = append(reasons, r.String())
		e.drop(ctx, r, 1)
	}
	outcomes := metadatacheck.StringConstants(t, ".", "outcome")
	for _, o := range outcomes {
		e.countRequest(ctx, o, "none")
	}
	statuses := metadatacheck.StringConstants(t, ".", "result")
	for _, s := range statuses {
		// reasons come from the service
		for _, reason := range []string{"", "DestinationNotConfigured"} {
			e.telemetry.ExporterAgent365SpanResults.Add(ctx, 1, e.resultLabels.option(s, reason))
		}
	}

	tests := []struct {
		metric, attribute string
		emitted           []string
	}{
		{"exporter_agent365_dropped_spans", "reason", reasons},
		{"exporter_agent365_requests", "outcome", outcomes},
		{"exporter_agent365_span_results", "status", statuses},
	}
	for _, tt := range tests {
		t.Run(tt.metric, func(t *testing.T) {
			assert.ElementsMatch(t, md.Attributes[tt.attribute].Enum, tt.emitted, "enum of %s", tt.attribute)
			m, ok := md.Telemetry.Metrics[tt.metric]
			require.True(t, ok)
			declared := md.DataPointAttributes(m)
			got, err := tel.GetMetric("otelcol_" + tt.metric)
			require.NoError(t, err)
			sum, ok := got.Data.(metricdata.Sum[int64])
			require.True(t, ok)
			require.NotEmpty(t, sum.DataPoints)
			for _, dp := range sum.DataPoints {
				var keys []string
				for _, kv := range dp.Attributes.ToSlice() {
					keys = append(keys, string(kv.Key))
					a := declared[string(kv.Key)]
					if len(a.Enum) > 0 {
						assert.Contains(t, a.Enum, kv.Value.AsString(), "value of %s", kv.Key)
					}
				}
				assert.ElementsMatch(t, slices.Collect(maps.Keys(declared)), keys)
			}
		})
	}
}
