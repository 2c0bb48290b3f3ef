package metadata // import "github.com/agent365-otel/agent365exporter/internal/metadata"

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/embedded"

	"go.opentelemetry.io/collector/component"
)

// Meter returns the component's meter.
func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter(ScopeName)
}

// TelemetryBuilder holds the component's own instruments, as listed under
// telemetry in metadata.yaml.
type TelemetryBuilder struct {
	meter                              metric.Meter
	mu                                 sync.Mutex
	registrations                      []metric.Registration
	ExporterAgent365GatedIdentities    metric.Int64ObservableGauge
	ExporterAgent365HeldSpans          metric.Int64ObservableGauge
	ExporterAgent365DeliveredSpans     metric.Int64Counter
	ExporterAgent365DroppedSpans       metric.Int64Counter
	ExporterAgent365RejectedSpans      metric.Int64Counter
	ExporterAgent365RequestDuration    metric.Float64Histogram
	ExporterAgent365RequestSize        metric.Int64Histogram
	ExporterAgent365SpanResults        metric.Int64Counter
	ExporterAgent365Requests           metric.Int64Counter
	ExporterAgent365TruncatedSpans     metric.Int64Counter
	ExporterAgent365MissingAttributes  metric.Int64Counter
	ExporterAgent365UpgradedAttributes metric.Int64Counter
	ExporterAgent365MistypedAttributes metric.Int64Counter
	ExporterAgent365CoercedAttributes  metric.Int64Counter
}

// RegisterExporterAgent365GatedIdentitiesCallback sets callback for observable ExporterAgent365GatedIdentities metric.
func (builder *TelemetryBuilder) RegisterExporterAgent365GatedIdentitiesCallback(cb metric.Int64Callback) error {
	reg, err := builder.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		cb(ctx, &observerInt64{inst: builder.ExporterAgent365GatedIdentities, obs: o})
		return nil
	}, builder.ExporterAgent365GatedIdentities)
	if err != nil {
		return err
	}
	builder.mu.Lock()
	defer builder.mu.Unlock()
	builder.registrations = append(builder.registrations, reg)
	return nil
}

// RegisterExporterAgent365HeldSpansCallback sets callback for observable ExporterAgent365HeldSpans metric.
func (builder *TelemetryBuilder) RegisterExporterAgent365HeldSpansCallback(cb metric.Int64Callback) error {
	reg, err := builder.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		cb(ctx, &observerInt64{inst: builder.ExporterAgent365HeldSpans, obs: o})
		return nil
	}, builder.ExporterAgent365HeldSpans)
	if err != nil {
		return err
	}
	builder.mu.Lock()
	defer builder.mu.Unlock()
	builder.registrations = append(builder.registrations, reg)
	return nil
}

type observerInt64 struct {
	embedded.Int64Observer
	inst metric.Int64Observable
	obs  metric.Observer
}

func (oi *observerInt64) Observe(value int64, opts ...metric.ObserveOption) {
	oi.obs.ObserveInt64(oi.inst, value, opts...)
}

// Shutdown unregister all registered callbacks for async instruments.
func (builder *TelemetryBuilder) Shutdown() {
	builder.mu.Lock()
	defer builder.mu.Unlock()
	for _, reg := range builder.registrations {
		reg.Unregister()
	}
}

// NewTelemetryBuilder creates the instruments with the component's MeterProvider.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	b := &TelemetryBuilder{meter: Meter(settings)}
	var err, errs error
	b.ExporterAgent365DeliveredSpans, err = b.meter.Int64Counter(
		"otelcol_exporter_agent365_delivered_spans",
		metric.WithDescription("Spans the Agent 365 service accepted (2xx), before its own partial-success rejections. [alpha]"),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	b.ExporterAgent365GatedIdentities, err = b.meter.Int64ObservableGauge(
		"otelcol_exporter_agent365_gated_identities",
		metric.WithDescription("Identities (tenant, agent) waiting behind their gate or holding spans. [alpha]"),
		metric.WithUnit("{identity}"),
	)
	errs = errors.Join(errs, err)
	b.ExporterAgent365HeldSpans, err = b.meter.Int64ObservableGauge(
		"otelcol_exporter_agent365_held_spans",
		metric.WithDescription("Spans held back while their identity waits, to be sent when its gate opens. [alpha]"),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	b.ExporterAgent365DroppedSpans, err = b.meter.Int64Counter(
		"otelcol_exporter_agent365_dropped_spans",
		metric.WithDescription("Spans the exporter did not deliver, by reason. [alpha]"),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	b.ExporterAgent365RejectedSpans, err = b.meter.Int64Counter(
		"otelcol_exporter_agent365_rejected_spans",
		metric.WithDescription("Spans the service reported as rejected in partialSuccess. [alpha]"),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	b.ExporterAgent365RequestDuration, err = b.meter.Float64Histogram(
		"otelcol_exporter_agent365_request_duration",
		metric.WithDescription("Duration of requests to the Agent 365 service. [alpha]"),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.055, 0.06, 0.07, 0.08, 0.1, 0.125, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5, 5, 10, 30),
	)
	errs = errors.Join(errs, err)
	b.ExporterAgent365RequestSize, err = b.meter.Int64Histogram(
		"otelcol_exporter_agent365_request_size",
		metric.WithDescription("Size of request bodies sent to the Agent 365 service. [alpha]"),
		metric.WithUnit("By"),
		metric.WithExplicitBucketBoundaries(1000, 4000, 16000, 64000, 128000, 256000, 512000, 900000, 1000000),
	)
	errs = errors.Join(errs, err)
	b.ExporterAgent365Requests, err = b.meter.Int64Counter(
		"otelcol_exporter_agent365_requests",
		metric.WithDescription("Requests to the Agent 365 service, by outcome and HTTP status class. [alpha]"),
		metric.WithUnit("{request}"),
	)
	errs = errors.Join(errs, err)
	b.ExporterAgent365SpanResults, err = b.meter.Int64Counter(
		"otelcol_exporter_agent365_span_results",
		metric.WithDescription("Per-destination results the service gave for spans of accepted requests, by status and reason. [alpha]"),
		metric.WithUnit("{result}"),
	)
	errs = errors.Join(errs, err)
	b.ExporterAgent365TruncatedSpans, err = b.meter.Int64Counter(
		"otelcol_exporter_agent365_truncated_spans",
		metric.WithDescription("Spans shrunk to fit max_span_bytes. [alpha]"),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	b.ExporterAgent365MissingAttributes, err = b.meter.Int64Counter(
		"otelcol_exporter_agent365_missing_attributes",
		metric.WithDescription("Spans missing an attribute Agent 365 requires for their operation, by operation and attribute. [alpha]"),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	b.ExporterAgent365UpgradedAttributes, err = b.meter.Int64Counter(
		"otelcol_exporter_agent365_upgraded_attributes",
		metric.WithDescription("Attributes renamed from their legacy name to the current one. [alpha]"),
		metric.WithUnit("{attribute}"),
	)
	errs = errors.Join(errs, err)
	b.ExporterAgent365MistypedAttributes, err = b.meter.Int64Counter(
		"otelcol_exporter_agent365_mistyped_attributes",
		metric.WithDescription("Spans holding an attribute of another type than the service's contract says, by operation and attribute. [alpha]"),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	b.ExporterAgent365CoercedAttributes, err = b.meter.Int64Counter(
		"otelcol_exporter_agent365_coerced_attributes",
		metric.WithDescription("Attribute values converted to the contract's type without loss (validation.coerce_types). [alpha]"),
		metric.WithUnit("{attribute}"),
	)
	errs = errors.Join(errs, err)
	return b, errs
}
