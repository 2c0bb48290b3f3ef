// Package telemetrytest reads a component's own metrics in tests: the sum
// of a counter's or gauge's data points, by attribute.
package telemetrytest // import "github.com/agent365-otel/agent365exporter/internal/telemetrytest"

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Counter sums the data points of an int counter whose attributes include
// attrs; 0 when the counter has none yet.
func Counter(t *testing.T, tel *componenttest.Telemetry, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	if err != nil {
		return 0
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is not an int counter", name)
	var total int64
	for _, dp := range sum.DataPoints {
		if matches(dp.Attributes, attrs) {
			total += dp.Value
		}
	}
	return total
}

// CounterBy sums an int counter's data points by the value of attribute key.
func CounterBy(t *testing.T, tel *componenttest.Telemetry, name string, key attribute.Key) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	m, err := tel.GetMetric(name)
	if err != nil {
		return out
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is not an int counter", name)
	for _, dp := range sum.DataPoints {
		v, _ := dp.Attributes.Value(key)
		out[v.AsString()] += dp.Value
	}
	return out
}

// Gauge sums the data points of an int gauge; 0 when it has none.
func Gauge(t *testing.T, tel *componenttest.Telemetry, name string) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	if err != nil {
		return 0
	}
	g, ok := m.Data.(metricdata.Gauge[int64])
	require.True(t, ok, "%s is not an int gauge", name)
	var total int64
	for _, dp := range g.DataPoints {
		total += dp.Value
	}
	return total
}

func matches(set attribute.Set, attrs []attribute.KeyValue) bool {
	for _, a := range attrs {
		if v, ok := set.Value(a.Key); !ok || v != a.Value {
			return false
		}
	}
	return true
}
