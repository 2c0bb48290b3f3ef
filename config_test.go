package agent365exporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/agent365-otel/agent365exporter/internal/discovery"
	"github.com/agent365-otel/agent365exporter/internal/metadata"
	"github.com/agent365-otel/agent365exporter/internal/schema"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	id := component.MustNewIDWithName(metadata.Type.String(), name)
	if name == "" {
		id = component.NewID(metadata.Type)
	}
	sub, err := cm.Sub(id.String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg, confmap.Validate(cfg)
}

func TestDefaultConfig(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, "https://agent365.svc.cloud.microsoft", cfg.ClientConfig.Endpoint)
	assert.Equal(t, discovery.ModeGlobal, cfg.EndpointDiscovery)
	assert.Equal(t, "prod", cfg.ClusterCategory)
	assert.False(t, cfg.UseS2SEndpoint)
	assert.True(t, cfg.Identity.FromResource)
	assert.Equal(t, schema.Operations, cfg.Operations)
	assert.Equal(t, 256000, cfg.MaxSpanBytes)
	assert.Equal(t, 900000, cfg.MaxPayloadBytes)
	assert.Equal(t, 30*time.Second, cfg.ClientConfig.Timeout)
	assert.True(t, cfg.QueueConfig.HasValue(), "the sending queue is on by default")
	assert.True(t, cfg.RetryConfig.Enabled)
	assert.True(t, cfg.UpgradeLegacyAttributes)
	assert.Equal(t, ValidationConfig{Mode: ValidationReport, LogInterval: time.Minute}, cfg.Validation)
	assert.Equal(t, FormatA365, cfg.Format)
	assert.Empty(t, cfg.Redact)
}

func TestLoadValidConfigs(t *testing.T) {
	for _, name := range []string{"", "tenant_island", "loopback_http", "localhost_http", "ipv6_loopback_http", "no_queue", "content_controls"} {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(t, name)
			require.NoError(t, err)
		})
	}

	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	assert.Equal(t, "https://agent365.example.com/base/", cfg.ClientConfig.Endpoint)
	assert.True(t, cfg.UseS2SEndpoint)
	assert.Equal(t, IdentityConfig{
		DefaultTenantID: "e3064512-cc6d-4703-be71-a2ecaecaa98a",
		DefaultAgentID:  "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb",
		FromResource:    false,
	}, cfg.Identity)
	assert.Equal(t, []string{"invoke_agent", "chat"}, cfg.Operations)
	assert.Equal(t, 100000, cfg.MaxSpanBytes)
	assert.Equal(t, 500000, cfg.MaxPayloadBytes)
	assert.Equal(t, 8, cfg.MaxConcurrentRequests)
	assert.True(t, cfg.SuppressInvokeAgentInput)
	assert.Equal(t, 10*time.Second, cfg.ClientConfig.Timeout)
	assert.Equal(t, configcompression.TypeGzip, cfg.ClientConfig.Compression)
	v, ok := cfg.ClientConfig.Headers.Get("x-team")
	assert.True(t, ok)
	assert.Equal(t, "agents", string(v))
	require.True(t, cfg.ClientConfig.Auth.HasValue())
	assert.Equal(t, component.MustNewID("agent365auth"), cfg.ClientConfig.Auth.Get().AuthenticatorID)
	// The squashed HTTP client config must not swallow the other sections.
	require.True(t, cfg.QueueConfig.HasValue())
	assert.Equal(t, 3, cfg.QueueConfig.Get().NumConsumers)
	assert.Equal(t, int64(500), cfg.QueueConfig.Get().QueueSize)
	assert.Equal(t, component.MustNewIDWithName("file_storage", "a365"), *cfg.QueueConfig.Get().StorageID)
	assert.Equal(t, time.Second, cfg.RetryConfig.InitialInterval)
	assert.Equal(t, time.Minute, cfg.RetryConfig.MaxElapsedTime)

	cfg, err = loadConfig(t, "tenant_island")
	require.NoError(t, err)
	assert.Equal(t, discovery.ModeTenantIsland, cfg.EndpointDiscovery)
	assert.Equal(t, "gov", cfg.ClusterCategory)

	cfg, err = loadConfig(t, "content_controls")
	require.NoError(t, err)
	assert.False(t, cfg.UpgradeLegacyAttributes)
	assert.Equal(t, ValidationConfig{Mode: ValidationEnforce, LogInterval: 5 * time.Minute}, cfg.Validation)
	assert.Equal(t, FormatOTLPJSON, cfg.Format)
	require.Len(t, cfg.Redact, 3)
	assert.Equal(t, RedactRule{Keys: []string{"gen_ai.system_instructions"}, Action: RedactReplace, Operations: []string{"invoke_agent", "chat"}}, cfg.Redact[1])
	assert.Equal(t, RedactHash, cfg.Redact[0].Action)
	assert.NotEmpty(t, cfg.Redact[0].HashKey)

	cfg, err = loadConfig(t, "no_queue")
	require.NoError(t, err)
	assert.False(t, cfg.QueueConfig.HasValue())
}

func TestLoadInvalidConfigs(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string
	}{
		{"bad_discovery", `endpoint_discovery "regional" is unknown; use "global" (current routes under endpoint) or "tenant_island"`},
		{"bad_category", `cluster_category "production" is unknown; use one of dev, dod, ex, firstrelease, gov, high, local, mooncake, preprod, prod, rx, test`},
		{"zero_payload", "max_payload_bytes must be positive"},
		{"negative_span", "max_span_bytes must be positive"},
		{"span_over_payload", "max_span_bytes (900001) must not be above max_payload_bytes (900000)"},
		{"empty_operation", "operations[1] is empty"},
		{"no_operations", "operations must list at least one gen_ai.operation.name"},
		{"http_remote", `endpoint "http://agent365.example.com" uses plain http to a non-loopback host; requests carry bearer tokens, so use https`},
		{"ftp_endpoint", "must start with https://"},
		{"no_host", "has no host"},
		{"endpoint_query", "must not have a query or fragment"},
		{"bad_default_tenant", "identity.default_tenant_id: invalid id: character '/'"},
		{"bad_default_agent", "identity.default_agent_id: invalid id: character ' '"},
		{"island_short_tenant", "identity.default_tenant_id: invalid tenant id: normalized tenant identifier must be at least 3 characters"},
		{"zero_concurrency", "max_concurrent_requests must be at least 1"},
		{"bad_validation_mode", `validation.mode "strict" is unknown; use "off", "report" (count and log spans missing required attributes) or "enforce" (drop them)`},
		{"negative_log_interval", "validation.log_interval must not be negative"},
		{"bad_redact_action", `redact[0].action "mask" is unknown; use "drop", "replace" or "hash"`},
		{"redact_no_keys", "redact[0].keys must list at least one attribute key"},
		{"redact_identity_key", `redact[0].keys[0]: "gen_ai.agent.id" routes the span (identity or operation) and cannot be redacted`},
		{"hash_key_without_hash", `redact[0].hash_key is set but action is "replace"`},
		{"bad_format", `format "protobuf" is unknown; use "a365" (the Agent 365 SDKs' JSON) or "otlp_json"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(t, tt.name)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestUnknownKeyIsRejected(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	err := confmap.NewFromStringMap(map[string]any{"max_span_byte": 10}).Unmarshal(cfg)
	require.ErrorContains(t, err, `unknown key "max_span_byte" in the agent365 exporter configuration; did you mean "max_span_bytes"?`)

	err = confmap.NewFromStringMap(map[string]any{"sending_queue": map[string]any{"num_consumer": 1}}).Unmarshal(cfg)
	require.ErrorContains(t, err, "num_consumer")

	err = confmap.NewFromStringMap(map[string]any{"zzz": 1}).Unmarshal(cfg)
	require.ErrorContains(t, err, `unknown key "zzz" in the agent365 exporter configuration`)
	require.NotContains(t, err.Error(), "did you mean")

	// Keys of the squashed HTTP client settings are known.
	require.NoError(t, confmap.NewFromStringMap(map[string]any{"proxy_url": "http://127.0.0.1:3128", "read_buffer_size": 10}).Unmarshal(cfg))
}
