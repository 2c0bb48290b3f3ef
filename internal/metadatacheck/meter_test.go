package metadatacheck

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/metric"
)

func TestRecordingMeterProvider(t *testing.T) {
	p := NewRecordingMeterProvider()
	m := p.Meter("scope")
	_, err := m.Int64Counter("counter", metric.WithDescription("a counter"), metric.WithUnit("{span}"))
	require.NoError(t, err)
	_, err = m.Float64Histogram("histogram", metric.WithDescription("a histogram"), metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(0.1, 1))
	require.NoError(t, err)
	_, err = p.Meter("other scope").Int64ObservableGauge("gauge", metric.WithDescription("a gauge"))
	require.NoError(t, err)
	_, err = m.Float64UpDownCounter("updown")
	require.NoError(t, err)

	created := p.Created()
	assert.Equal(t, map[string]Instrument{
		"counter":   {Kind: "Int64Counter", Description: "a counter", Unit: "{span}"},
		"histogram": {Kind: "Float64Histogram", Description: "a histogram", Unit: "s", Boundaries: []float64{0.1, 1}},
		"gauge":     {Kind: "Int64ObservableGauge", Description: "a gauge"},
		"updown":    {Kind: "Float64UpDownCounter"},
	}, created)

	// Created is a copy: what the caller does with it is not recorded.
	delete(created, "counter")
	assert.Contains(t, p.Created(), "counter")
}
