package metadata // import "github.com/agent365-otel/agent365exporter/auth/internal/metadata"

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
	Agent365authCacheEvictions    metric.Int64Counter
	Agent365authCacheHits         metric.Int64Counter
	Agent365authTokenAcquisitions metric.Int64Counter
}

// NewTelemetryBuilder creates the instruments with the component's MeterProvider.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	b := TelemetryBuilder{meter: Meter(settings)}
	var err, errs error
	b.Agent365authCacheEvictions, err = b.meter.Int64Counter(
		"otelcol_agent365auth_cache_evictions",
		metric.WithDescription("Cached tokens and remembered failures evicted to keep the token cache within max_cached_tokens. [alpha]"),
		metric.WithUnit("{eviction}"),
	)
	errs = errors.Join(errs, err)
	b.Agent365authCacheHits, err = b.meter.Int64Counter(
		"otelcol_agent365auth_cache_hits",
		metric.WithDescription("Tokens served from the token cache without a token request. [alpha]"),
		metric.WithUnit("{hit}"),
	)
	errs = errors.Join(errs, err)
	b.Agent365authTokenAcquisitions, err = b.meter.Int64Counter(
		"otelcol_agent365auth_token_acquisitions",
		metric.WithDescription("Token acquisitions, by token source and outcome. [alpha]"),
		metric.WithUnit("{acquisition}"),
	)
	errs = errors.Join(errs, err)
	return &b, errs
}
