package metadata // import "github.com/agent365-otel/agent365exporter/receiver/internal/metadata"

import (
	"errors"

	"go.opentelemetry.io/otel/metric"

	"go.opentelemetry.io/collector/component"
)

// Meter returns the component's meter.
func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter(ScopeName)
}

// TelemetryBuilder holds the component's own instruments, as listed under
// telemetry in metadata.yaml.
type TelemetryBuilder struct {
	meter                         metric.Meter
	ReceiverAgent365RejectedSpans metric.Int64Counter
	ReceiverAgent365Requests      metric.Int64Counter
}

// Shutdown unregisters the callbacks of asynchronous instruments; the
// receiver has none.
func (builder *TelemetryBuilder) Shutdown() {}

// NewTelemetryBuilder creates the instruments with the component's MeterProvider.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	b := &TelemetryBuilder{meter: Meter(settings)}
	var err, errs error
	b.ReceiverAgent365RejectedSpans, err = b.meter.Int64Counter(
		"otelcol_receiver_agent365_rejected_spans",
		metric.WithDescription("Spans the receiver refused because they name another tenant or agent than the request's URL, by reason. [alpha]"),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	b.ReceiverAgent365Requests, err = b.meter.Int64Counter(
		"otelcol_receiver_agent365_requests",
		metric.WithDescription("Requests the receiver answered, by route and HTTP status code. [alpha]"),
		metric.WithUnit("{request}"),
	)
	errs = errors.Join(errs, err)
	return b, errs
}
