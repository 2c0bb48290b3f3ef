package agent365receiver

import (
	"maps"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/agent365-otel/agent365exporter/internal/metadatacheck"
	"github.com/agent365-otel/agent365exporter/receiver/internal/metadata"
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

// The receiver's type, and the stability of each signal it supports, are
// metadata.yaml's.
func TestStatusMatchesMetadata(t *testing.T) {
	cm, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	var md struct {
		Type   string `mapstructure:"type"`
		Status struct {
			Stability map[string][]string `mapstructure:"stability"`
		} `mapstructure:"status"`
	}
	require.NoError(t, cm.Unmarshal(&md, confmap.WithIgnoreUnused()))
	declared := map[string]string{}
	for level, signals := range md.Status.Stability {
		for _, s := range signals {
			declared[s] = level
		}
	}

	f := NewFactory()
	assert.Equal(t, md.Type, metadata.Type.String())
	assert.Equal(t, metadata.Type, f.Type())
	supported := map[string]string{}
	for signal, level := range map[string]component.StabilityLevel{
		"traces":  f.TracesStability(),
		"metrics": f.MetricsStability(),
		"logs":    f.LogsStability(),
	} {
		if level != component.StabilityLevelUndefined {
			supported[signal] = strings.ToLower(level.String())
		}
	}
	assert.Equal(t, declared, supported)
}

// attributeValueType is the type of a metadata.yaml attribute's values on
// the data points.
var attributeValueType = map[string]attribute.Type{
	"string": attribute.STRING,
	"int":    attribute.INT64,
	"double": attribute.FLOAT64,
	"bool":   attribute.BOOL,
}

// The attributes the receiver puts on its metrics are those metadata.yaml
// declares, of the declared type, with values from their enums; and each
// enum lists exactly the values the code has, each of which is emitted: the
// name of every route and unknown, and every reason spans are refused.
func TestMetadataAttributesMatchEmittedValues(t *testing.T) {
	md := metadatacheck.Load(t, "metadata.yaml")
	tr := startReceiver(t, nil)

	var routeNames []string
	for _, rt := range routes {
		if !slices.Contains(routeNames, rt.name) {
			routeNames = append(routeNames, rt.name)
		}
	}
	routeNames = append(routeNames, metadatacheck.StringConstants(t, ".", "route")...)

	// A request to every route, and one to no route.
	body := fixture(t, "node-sdk-1.0.0-fabrikam.json")
	ids := strings.NewReplacer("{tenantId}", fabrikamTenant, "{agentId}", fabrikamAgent)
	for _, rt := range routes {
		r := tr.post(t, ids.Replace(rt.pattern), body, map[string]string{"x-ms-tenant-id": fabrikamTenant})
		require.Equal(t, http.StatusOK, r.status, "%s: %s", rt.pattern, r.body)
	}
	require.Equal(t, http.StatusNotFound, tr.post(t, "/v1/traces", body, nil).status)
	// Contoso's spans sent to Fabrikam's tenant, then to Contoso's tenant
	// with Fabrikam's agent: refused for each reason.
	contoso := fixture(t, "node-sdk-1.0.0-contoso.json")
	for _, path := range []string{
		fabrikamPath(),
		"/observability/tenants/" + contosoTenant + "/otlp/agents/" + fabrikamAgent + "/traces",
	} {
		r := tr.post(t, path, contoso, nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		require.Positive(t, r.partialSuccess(t).RejectedSpans)
	}

	tests := []struct {
		metric, attribute string
		code              []string
	}{
		{"receiver_agent365_requests", "route", routeNames},
		{"receiver_agent365_rejected_spans", "reason", metadatacheck.StringConstants(t, ".", "reason")},
	}
	for _, tt := range tests {
		t.Run(tt.metric, func(t *testing.T) {
			assert.ElementsMatch(t, md.Attributes[tt.attribute].Enum, tt.code, "enum of %s", tt.attribute)
			m, ok := md.Telemetry.Metrics[tt.metric]
			require.True(t, ok)
			require.Contains(t, m.Attributes, tt.attribute)
			declared := md.DataPointAttributes(m)
			got, err := tr.tel.GetMetric("otelcol_" + tt.metric)
			require.NoError(t, err)
			sum, ok := got.Data.(metricdata.Sum[int64])
			require.True(t, ok)
			require.NotEmpty(t, sum.DataPoints)
			var emitted []string
			for _, dp := range sum.DataPoints {
				var keys []string
				for _, kv := range dp.Attributes.ToSlice() {
					keys = append(keys, string(kv.Key))
					a, ok := declared[string(kv.Key)]
					if !ok {
						continue
					}
					assert.Equal(t, attributeValueType[a.Type], kv.Value.Type(), "type of %s", kv.Key)
					if len(a.Enum) > 0 {
						assert.Contains(t, a.Enum, kv.Value.Emit(), "value of %s", kv.Key)
					}
					if v := kv.Value.Emit(); string(kv.Key) == md.Attributes[tt.attribute].Name(tt.attribute) && !slices.Contains(emitted, v) {
						emitted = append(emitted, v)
					}
				}
				assert.ElementsMatch(t, slices.Collect(maps.Keys(declared)), keys)
			}
			assert.ElementsMatch(t, tt.code, emitted, "values of %s emitted", tt.attribute)
		})
	}
}
