package metadatacheck

import (
	"maps"
	"sync"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/embedded"
	"go.opentelemetry.io/otel/metric/noop"
)

// Instrument is what a component asked a meter to create.
type Instrument struct {
	// Kind is the instrument's type in the metric API, e.g. "Int64Counter".
	Kind        string
	Description string
	Unit        string
	// Boundaries are a histogram's explicit bucket boundaries.
	Boundaries []float64
}

// RecordingMeterProvider is a MeterProvider whose meters record every
// instrument created with them, by name, and otherwise do nothing. Set it
// as the MeterProvider of the TelemetrySettings a TelemetryBuilder is made
// with, then pass Created to CheckBuilder.
type RecordingMeterProvider struct {
	embedded.MeterProvider
	meter *recordingMeter
}

// NewRecordingMeterProvider returns a provider that has recorded nothing.
func NewRecordingMeterProvider() *RecordingMeterProvider {
	return &RecordingMeterProvider{meter: &recordingMeter{created: map[string]Instrument{}}}
}

// Meter returns the provider's one meter, whatever the scope.
func (p *RecordingMeterProvider) Meter(string, ...metric.MeterOption) metric.Meter {
	return p.meter
}

// Created are the instruments created so far, by name.
func (p *RecordingMeterProvider) Created() map[string]Instrument {
	p.meter.mu.Lock()
	defer p.meter.mu.Unlock()
	return maps.Clone(p.meter.created)
}

// recordingMeter records the instruments created with it and returns no-op
// ones.
type recordingMeter struct {
	noop.Meter
	mu      sync.Mutex
	created map[string]Instrument
}

func (m *recordingMeter) add(name, kind, description, unit string, boundaries []float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.created[name] = Instrument{Kind: kind, Description: description, Unit: unit, Boundaries: boundaries}
}

func (m *recordingMeter) Int64Counter(name string, opts ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	c := metric.NewInt64CounterConfig(opts...)
	m.add(name, "Int64Counter", c.Description(), c.Unit(), nil)
	return m.Meter.Int64Counter(name)
}

func (m *recordingMeter) Int64UpDownCounter(name string, opts ...metric.Int64UpDownCounterOption) (metric.Int64UpDownCounter, error) {
	c := metric.NewInt64UpDownCounterConfig(opts...)
	m.add(name, "Int64UpDownCounter", c.Description(), c.Unit(), nil)
	return m.Meter.Int64UpDownCounter(name)
}

func (m *recordingMeter) Int64Histogram(name string, opts ...metric.Int64HistogramOption) (metric.Int64Histogram, error) {
	c := metric.NewInt64HistogramConfig(opts...)
	m.add(name, "Int64Histogram", c.Description(), c.Unit(), c.ExplicitBucketBoundaries())
	return m.Meter.Int64Histogram(name)
}

func (m *recordingMeter) Int64Gauge(name string, opts ...metric.Int64GaugeOption) (metric.Int64Gauge, error) {
	c := metric.NewInt64GaugeConfig(opts...)
	m.add(name, "Int64Gauge", c.Description(), c.Unit(), nil)
	return m.Meter.Int64Gauge(name)
}

func (m *recordingMeter) Int64ObservableCounter(name string, opts ...metric.Int64ObservableCounterOption) (metric.Int64ObservableCounter, error) {
	c := metric.NewInt64ObservableCounterConfig(opts...)
	m.add(name, "Int64ObservableCounter", c.Description(), c.Unit(), nil)
	return m.Meter.Int64ObservableCounter(name)
}

func (m *recordingMeter) Int64ObservableUpDownCounter(name string, opts ...metric.Int64ObservableUpDownCounterOption) (metric.Int64ObservableUpDownCounter, error) {
	c := metric.NewInt64ObservableUpDownCounterConfig(opts...)
	m.add(name, "Int64ObservableUpDownCounter", c.Description(), c.Unit(), nil)
	return m.Meter.Int64ObservableUpDownCounter(name)
}

func (m *recordingMeter) Int64ObservableGauge(name string, opts ...metric.Int64ObservableGaugeOption) (metric.Int64ObservableGauge, error) {
	c := metric.NewInt64ObservableGaugeConfig(opts...)
	m.add(name, "Int64ObservableGauge", c.Description(), c.Unit(), nil)
	return m.Meter.Int64ObservableGauge(name)
}

func (m *recordingMeter) Float64Counter(name string, opts ...metric.Float64CounterOption) (metric.Float64Counter, error) {
	c := metric.NewFloat64CounterConfig(opts...)
	m.add(name, "Float64Counter", c.Description(), c.Unit(), nil)
	return m.Meter.Float64Counter(name)
}

func (m *recordingMeter) Float64UpDownCounter(name string, opts ...metric.Float64UpDownCounterOption) (metric.Float64UpDownCounter, error) {
	c := metric.NewFloat64UpDownCounterConfig(opts...)
	m.add(name, "Float64UpDownCounter", c.Description(), c.Unit(), nil)
	return m.Meter.Float64UpDownCounter(name)
}

func (m *recordingMeter) Float64Histogram(name string, opts ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	c := metric.NewFloat64HistogramConfig(opts...)
	m.add(name, "Float64Histogram", c.Description(), c.Unit(), c.ExplicitBucketBoundaries())
	return m.Meter.Float64Histogram(name)
}

func (m *recordingMeter) Float64Gauge(name string, opts ...metric.Float64GaugeOption) (metric.Float64Gauge, error) {
	c := metric.NewFloat64GaugeConfig(opts...)
	m.add(name, "Float64Gauge", c.Description(), c.Unit(), nil)
	return m.Meter.Float64Gauge(name)
}

func (m *recordingMeter) Float64ObservableCounter(name string, opts ...metric.Float64ObservableCounterOption) (metric.Float64ObservableCounter, error) {
	c := metric.NewFloat64ObservableCounterConfig(opts...)
	m.add(name, "Float64ObservableCounter", c.Description(), c.Unit(), nil)
	return m.Meter.Float64ObservableCounter(name)
}

func (m *recordingMeter) Float64ObservableUpDownCounter(name string, opts ...metric.Float64ObservableUpDownCounterOption) (metric.Float64ObservableUpDownCounter, error) {
	c := metric.NewFloat64ObservableUpDownCounterConfig(opts...)
	m.add(name, "Float64ObservableUpDownCounter", c.Description(), c.Unit(), nil)
	return m.Meter.Float64ObservableUpDownCounter(name)
}

func (m *recordingMeter) Float64ObservableGauge(name string, opts ...metric.Float64ObservableGaugeOption) (metric.Float64ObservableGauge, error) {
	c := metric.NewFloat64ObservableGaugeConfig(opts...)
	m.add(name, "Float64ObservableGauge", c.Description(), c.Unit(), nil)
	return m.Meter.Float64ObservableGauge(name)
}
