package agent365receiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/confignet"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/agent365-otel/agent365exporter/receiver/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	custom := createDefaultConfig().(*Config)
	custom.ServerConfig.NetAddr.Endpoint = "127.0.0.1:14320"
	custom.ServerConfig.MaxRequestBodySize = 2_000_000
	custom.ServerConfig.IncludeMetadata = false
	custom.ServerConfig.TLS = configoptional.Some(configtls.ServerConfig{Config: configtls.Config{
		CertFile: "/etc/otelcol/tls.crt", KeyFile: "/etc/otelcol/tls.key",
	}})
	custom.RetryAfter = 2500 * time.Millisecond
	custom.TokenMetadataKey = "X-Agent-Token"

	tests := []struct {
		id      component.ID
		want    *Config
		wantErr string
	}{
		{id: component.NewID(metadata.Type), want: createDefaultConfig().(*Config)},
		{id: component.NewIDWithName(metadata.Type, "custom"), want: custom},
		{id: component.NewIDWithName(metadata.Type, "no_endpoint"), wantErr: "endpoint: must be set"},
		{id: component.NewIDWithName(metadata.Type, "zero_body_size"), wantErr: "max_request_body_size: must be positive, got 0"},
		{id: component.NewIDWithName(metadata.Type, "negative_retry_after"), wantErr: "retry_after: must be more than 0 and at most 1h0m0s, got -1s"},
		{id: component.NewIDWithName(metadata.Type, "huge_retry_after"), wantErr: "retry_after: must be more than 0 and at most 1h0m0s, got 2h0m0s"},
		{id: component.NewIDWithName(metadata.Type, "bad_token_key"), wantErr: `token_metadata_key "x token": must be a header name`},
		{id: component.NewIDWithName(metadata.Type, "empty_token_key"), wantErr: `token_metadata_key "": must be a header name`},
		{id: component.NewIDWithName(metadata.Type, "empty_token_key_without_metadata"), want: func() *Config {
			c := createDefaultConfig().(*Config)
			c.ServerConfig.IncludeMetadata = false
			c.TokenMetadataKey = ""
			return c
		}()},
		{id: component.NewIDWithName(metadata.Type, "udp"), wantErr: `transport "udp": use tcp, tcp4, tcp6 or unix`},
		{id: component.NewIDWithName(metadata.Type, "unknown_key"), wantErr: "max_request_body_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			err = sub.Unmarshal(cfg)
			if err == nil {
				err = confmap.Validate(cfg)
			}
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, "localhost:4320", cfg.ServerConfig.NetAddr.Endpoint)
	assert.Equal(t, int64(1_000_000), cfg.ServerConfig.MaxRequestBodySize)
	assert.True(t, cfg.ServerConfig.IncludeMetadata, "the agent's token is kept for from_context")
	assert.False(t, cfg.ServerConfig.TLS.HasValue())
	assert.Equal(t, 5*time.Second, cfg.RetryAfter)
	assert.Equal(t, "x-a365-token", cfg.TokenMetadataKey)
	require.NoError(t, confmap.Validate(cfg))
	assert.False(t, cfg.exposesTokens())
}

func TestExposesTokens(t *testing.T) {
	tests := []struct {
		endpoint  string
		transport string
		tls       bool
		want      bool
	}{
		{endpoint: "localhost:4320"},
		{endpoint: "LOCALHOST:4320"},
		{endpoint: "127.0.0.1:4320"},
		{endpoint: "127.9.9.9:4320"},
		{endpoint: "[::1]:4320"},
		{endpoint: "/run/otelcol/a365.sock", transport: "unix"},
		{endpoint: "0.0.0.0:4320", want: true},
		{endpoint: ":4320", want: true},
		{endpoint: "10.0.0.5:4320", want: true},
		{endpoint: "collector.example:4320", want: true},
		{endpoint: "0.0.0.0:4320", tls: true},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.ServerConfig.NetAddr.Endpoint = tt.endpoint
			if tt.transport != "" {
				cfg.ServerConfig.NetAddr.Transport = confignet.TransportType(tt.transport)
			}
			if tt.tls {
				cfg.ServerConfig.TLS = configoptional.Some(configtls.ServerConfig{})
			}
			assert.Equal(t, tt.want, cfg.exposesTokens())
		})
	}
}

// The squashed ServerConfig keeps confighttp's own keys at the top level.
func TestServerConfigKeys(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"endpoint":               "127.0.0.1:1",
		"read_timeout":           "7s",
		"compression_algorithms": []any{"gzip"},
	}).Unmarshal(cfg))
	assert.Equal(t, 7*time.Second, cfg.ServerConfig.ReadTimeout)
	assert.Equal(t, []string{"gzip"}, cfg.ServerConfig.CompressionAlgorithms)
	var _ confighttp.ServerConfig = cfg.ServerConfig
}
