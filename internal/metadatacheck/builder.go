package metadatacheck

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// metricPrefix is what mdatagen puts before a telemetry metric's id.
const metricPrefix = "otelcol_"

// CheckBuilder checks that every instrument in created (what a
// TelemetryBuilder asked a RecordingMeterProvider for) is a metric of md,
// with its type, description and stability, unit and buckets; and that
// every metric of md has its instrument, an exported field of builderType
// (the TelemetryBuilder struct), an AssertEqual function among assertions
// (the function names of metadatatest's generated_telemetrytest.go, see
// FuncNames), and attributes defined under attributes. Each metric is a
// subtest named by its id.
func CheckBuilder(t *testing.T, md File, created map[string]Instrument, builderType reflect.Type, assertions []string) {
	t.Helper()
	for name := range created {
		_, ok := md.Telemetry.Metrics[strings.TrimPrefix(name, metricPrefix)]
		assert.Truef(t, ok && strings.HasPrefix(name, metricPrefix), "the TelemetryBuilder creates %s, which metadata.yaml does not list", name)
	}
	fields := map[string]bool{}
	for i := range builderType.NumField() {
		if f := builderType.Field(i); f.IsExported() {
			fields[f.Name] = true
		}
	}
	for id, m := range md.Telemetry.Metrics {
		t.Run(id, func(t *testing.T) {
			kind, valueType := m.Instrument()
			require.NotEmpty(t, kind, "a sum, gauge or histogram")
			require.NotEmpty(t, m.Stability, "a stability")
			got, ok := created[metricPrefix+id]
			require.True(t, ok, "the TelemetryBuilder does not create it")
			assert.Equal(t, goValueType(valueType)+kind, got.Kind)
			assert.Equal(t, m.Description+" ["+stability(m.Stability)+"]", got.Description)
			assert.Equal(t, m.Unit, got.Unit)
			if m.Histogram != nil {
				assert.Equal(t, m.Histogram.BucketBoundaries, got.Boundaries)
			}
			assert.True(t, fields[camelCase(id)], "TelemetryBuilder has no field %s", camelCase(id))
			assert.Contains(t, assertions, "AssertEqual"+camelCase(id), "metadatatest has no assertion for it")
			for _, a := range m.Attributes {
				assert.Contains(t, md.Attributes, a, "attribute %s is not defined under attributes", a)
			}
		})
	}
}
