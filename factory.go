package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"context"
	"slices"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/agent365-otel/agent365exporter/internal/discovery"
	"github.com/agent365-otel/agent365exporter/internal/metadata"
	"github.com/agent365-otel/agent365exporter/internal/schema"
)

// DefaultEndpoint is the global Agent 365 ingestion host.
const DefaultEndpoint = "https://agent365.svc.cloud.microsoft"

// NewFactory creates a factory for the agent365 exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithTraces(createTraces, metadata.TracesStability),
	)
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Endpoint = DefaultEndpoint
	client.Timeout = 30 * time.Second
	// Batching in the queue, in place of the batch processor, as the
	// collector's batching migration recommends (its gate,
	// pkg.exporterhelper.queueBatchEnabled, is still off at v0.165):
	// flush_timeout 200ms, min_size 8192 spans, no max_size (max_payload_bytes
	// bounds each request), no partition. metadata.yaml's sending_queue
	// declares it.
	return &Config{
		ClientConfig:            client,
		QueueConfig:             metadata.NewDefaultSendingQueueConfig(),
		RetryConfig:             configretry.NewDefaultBackOffConfig(),
		EndpointDiscovery:       discovery.ModeGlobal,
		UseS2SEndpoint:          true,
		ClusterCategory:         "prod",
		Identity:                IdentityConfig{FromResource: true},
		Gate:                    GateConfig{MaxRetryAfter: time.Hour, MaxHeldBytes: 64 << 20},
		Operations:              slices.Clone(schema.Operations),
		MaxSpanBytes:            256000,
		MaxPayloadBytes:         900000,
		MaxConcurrentRequests:   4,
		UpgradeLegacyAttributes: true,
		Validation:              ValidationConfig{Mode: ValidationReport, LogInterval: time.Minute},
		Format:                  FormatA365,
	}
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	oCfg := cfg.(*Config)
	exp, err := newExporter(oCfg, set)
	if err != nil {
		return nil, err
	}
	traces, err := exporterhelper.NewTraces(ctx, set, cfg,
		exp.pushTraces,
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
		// The HTTP client's timeout bounds each attempt.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		// No WithRetry: retry_on_failure applies per identity, behind the
		// exporter's gate, so that one identity's waits never hold a queue
		// consumer that another identity's spans need.
		exporterhelper.WithQueue(oCfg.QueueConfig),
	)
	if err != nil {
		return nil, err
	}
	return &admittingExporter{Traces: traces, exp: exp}, nil
}
