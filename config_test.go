package agent365exporter

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

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
	if err := sub.Unmarshal(cfg); err != nil {
		return cfg, err
	}
	return cfg, confmap.Validate(cfg)
}

func TestDefaultConfig(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, "https://agent365.svc.cloud.microsoft", cfg.ClientConfig.Endpoint)
	assert.Equal(t, discovery.ModeGlobal, cfg.EndpointDiscovery)
	assert.Equal(t, "prod", cfg.ClusterCategory)
	assert.True(t, cfg.UseS2SEndpoint, "service-to-service by default")
	assert.True(t, cfg.Identity.FromResource)
	assert.Equal(t, schema.Operations, cfg.Operations)
	assert.Equal(t, 256000, cfg.MaxSpanBytes)
	assert.Equal(t, 900000, cfg.MaxPayloadBytes)
	assert.Equal(t, 30*time.Second, cfg.ClientConfig.Timeout)
	assert.True(t, cfg.QueueConfig.HasValue(), "the sending queue is on by default")
	// Batching in the queue, as collector v0.165's batching migration
	// recommends in place of the batch processor.
	require.True(t, cfg.QueueConfig.Get().Batch.HasValue(), "the sending queue batches by default")
	batch := cfg.QueueConfig.Get().Batch.Get()
	assert.Equal(t, 200*time.Millisecond, batch.FlushTimeout)
	assert.Equal(t, exporterhelper.RequestSizerTypeItems, batch.Sizer)
	assert.Equal(t, int64(8192), batch.MinSize)
	assert.Zero(t, batch.MaxSize, "max_payload_bytes, not the batch, bounds a request")
	assert.Empty(t, batch.Partition.MetadataKeys)
	assert.True(t, cfg.RetryConfig.Enabled)
	assert.True(t, cfg.UpgradeLegacyAttributes)
	assert.Equal(t, ValidationConfig{Mode: ValidationReport, LogInterval: time.Minute}, cfg.Validation)
	assert.Equal(t, FormatA365, cfg.Format)
	assert.Empty(t, cfg.Redact)
}

func TestLoadValidConfigs(t *testing.T) {
	for _, name := range []string{
		"", "tenant_island", "loopback_http", "localhost_http", "ipv6_loopback_http", "no_queue", "content_controls",
		"https_through_remote_proxy", "loopback_http_through_loopback_proxy", "size_floors", "service_body_limit", "client_keys",
	} {
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
		AllowedTenants:  []string{"E3064512-CC6D-4703-BE71-A2ECAECAA98A", "aaaabbbb-0000-cccc-1111-dddd2222eeee"},
		AllowedAgents:   []string{"aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"},
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

	cfg, err = loadConfig(t, "privacy_classes")
	require.NoError(t, err)
	assert.True(t, cfg.Validation.CoerceTypes)
	assert.Equal(t, []PrivacyClass{"EUII", "CustomerContent"}, cfg.Redact[0].Classes, "classes read in any letter case")
	assert.Equal(t, []PrivacyClass{"EUPI"}, cfg.Redact[1].Classes)

	cfg, err = loadConfig(t, "no_queue")
	require.NoError(t, err)
	assert.False(t, cfg.QueueConfig.HasValue())

	cfg, err = loadConfig(t, "client_keys")
	require.NoError(t, err)
	v, ok = cfg.ClientConfig.Headers.Get("X-Team")
	assert.True(t, ok)
	assert.Equal(t, "agents", string(v))
	assert.Equal(t, "1.2", cfg.ClientConfig.TLS.MinVersion)
	require.True(t, cfg.ClientConfig.Keepalive.HasValue())
	assert.Equal(t, 30*time.Second, cfg.ClientConfig.Keepalive.Get().IdleConnTimeout)
	require.True(t, cfg.QueueConfig.HasValue())
	require.True(t, cfg.QueueConfig.Get().Batch.HasValue())
	assert.Equal(t, []string{"x-a365-token"}, cfg.QueueConfig.Get().Batch.Get().Partition.MetadataKeys)
}

func TestLoadInvalidConfigs(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string
	}{
		{"bad_discovery", `endpoint_discovery "regional" is unknown; use "global" (current routes under endpoint) or "tenant_island"`},
		{"bad_category", `cluster_category "production" is unknown; use one of dev, dod, ex, firstrelease, gov, high, local, mooncake, preprod, prod, rx, test`},
		{"zero_payload", "max_payload_bytes must be at least 16384 (room for the resource and scope of a request and two spans of the smallest max_span_bytes), got 0"},
		{"negative_span", "max_span_bytes must be at least 4096 (room for a span's ids, times, name and identity attributes once its values are truncated), got -1"},
		{"span_over_payload", "max_span_bytes (900001) must leave 8192 bytes of max_payload_bytes (900000) for the resource and scope of a request: set it to at most 891808"},
		{"empty_operation", "operations[1] is empty"},
		{"no_operations", "operations must list at least one gen_ai.operation.name"},
		{"http_remote", `endpoint "http://agent365.example.com" uses plain http to a non-loopback host; requests carry bearer tokens, so use https`},
		{"ftp_endpoint", "must start with https://"},
		{"no_host", "has no host"},
		{"endpoint_query", "must not have a query or fragment"},
		{"bad_default_tenant", "identity: default_tenant_id: invalid id: character '/'"},
		{"bad_default_agent", "identity: default_agent_id: invalid id: character ' '"},
		{"island_short_tenant", "identity.default_tenant_id: invalid tenant id: normalized tenant identifier must be at least 3 characters"},
		{"zero_concurrency", "max_concurrent_requests must be at least 1"},
		{"bad_validation_mode", `'validation.mode' mode "strict" is unknown; use "off", "report" (count and log spans missing required attributes) or "enforce" (drop them)`},
		{"negative_log_interval", "validation: log_interval must not be negative"},
		{"bad_redact_action", `'redact[0].action' action "mask" is unknown; use "drop", "replace" or "hash"`},
		{"redact_no_keys", "redact::0: keys or classes must name what to redact"},
		{"redact_bad_class", `unknown privacy class "PII": use EUII, EUPI, CustomerContent or OII`},
		{"coerce_without_checks", "validation: coerce_types needs the attributes checked: set mode to report or enforce"},
		{"redact_identity_key", `redact::0: keys[0]: "gen_ai.agent.id" routes the span (identity or operation) and cannot be redacted`},
		{"hash_key_without_hash", `redact::0: hash_key is set but action is "replace"`},
		{"bad_format", `format "protobuf" is unknown; use "a365" (the Agent 365 SDKs' JSON) or "otlp_json"`},

		{"typo_top_level", `unknown key "max_span_byte" in the agent365 exporter configuration; did you mean "max_span_bytes"?`},
		{"typo_client_top_level", `unknown key "max_conns_per_hst" in the agent365 exporter configuration; did you mean "max_conns_per_host"?`},
		{"typo_validation", `unknown key "validation.mod" in the agent365 exporter configuration; did you mean "validation.mode"?`},
		{"typo_redact", `unknown key "redact[0].hashkey" in the agent365 exporter configuration; did you mean "redact[0].hash_key"?`},
		{"typo_identity", `unknown key "identity.allowed_tenant" in the agent365 exporter configuration; did you mean "identity.allowed_tenants"?`},
		{"typo_tls", `unknown key "tls.insecure_skip_verfy" in the agent365 exporter configuration; did you mean "tls.insecure_skip_verify"?`},
		{"typo_retry", `unknown key "retry_on_failure.max_elapsed_tme" in the agent365 exporter configuration; did you mean "retry_on_failure.max_elapsed_time"?`},
		{"typo_queue", `unknown key "sending_queue.num_consumer" in the agent365 exporter configuration; did you mean "sending_queue.num_consumers"?`},
		{"typo_queue_batch", `unknown key "sending_queue.batch.flush_timout" in the agent365 exporter configuration; did you mean "sending_queue.batch.flush_timeout"?`},
		{"typo_auth", `unknown key "auth.authenticatr" in the agent365 exporter configuration; did you mean "auth.authenticator"?`},
		{"typo_keepalive", `unknown key "keepalive.idle_conn_timout" in the agent365 exporter configuration; did you mean "keepalive.idle_conn_timeout"?`},

		{"zero_timeout", "timeout must be positive (default 30s): without it a hung connection holds a request, and the collector's shutdown, forever; got 0s"},
		{"negative_timeout", "timeout must be positive (default 30s)"},
		{"small_span", "max_span_bytes must be at least 4096"},
		{"small_payload", "max_payload_bytes must be at least 16384"},
		{"payload_over_service_limit", "max_payload_bytes must be at most 1000000, the largest body the service accepts; got 1000001"},
		{"span_without_envelope_room", "max_span_bytes (891809) must leave 8192 bytes of max_payload_bytes (900000)"},
		{"http_endpoint_remote_proxy", `proxy_url "http://proxy.example.com:3128" is not a loopback host, but endpoint "http://127.0.0.1:4319" is plain http: the proxy is the first hop and would see the bearer tokens in clear; use an https endpoint (tunnelled by CONNECT, TLS end to end) or a proxy on localhost, 127.0.0.0/8 or ::1`},
		{"http_endpoint_remote_https_proxy", `proxy_url "https://proxy.example.com:3128" is not a loopback host, but endpoint "http://localhost:4319" is plain http`},
		{"proxy_without_scheme", `proxy_url "proxy.example.com:3128" must be a URL such as http://proxy.example.com:3128 (schemes http, https, socks5)`},

		{"allowed_tenant_blank", "identity: allowed_tenants[0] is empty; list tenant ids, or remove the key to accept every tenant"},
		{"allowed_tenant_invalid", "identity: allowed_tenants[1]: invalid id: character '/'"},
		{"allowed_tenant_twice", `identity: allowed_tenants[1] "E3064512-CC6D-4703-BE71-A2ECAECAA98A" repeats allowed_tenants[0] (tenant ids match ignoring case)`},
		{"allowed_agent_twice", `identity: allowed_agents[2] "agent-1" repeats allowed_agents[0]`},
		{"allowed_agent_blank", "identity: allowed_agents[0] is empty; list agent ids, or remove the key to accept every agent"},
		{"allowed_tenant_island_short", "identity.allowed_tenants[0]: invalid tenant id: normalized tenant identifier must be at least 3 characters"},
		{"default_tenant_not_allowed", `identity: default_tenant_id "aaaabbbb-0000-cccc-1111-dddd2222eeee" is not in allowed_tenants: spans that name no tenant would all be dropped`},
		{"default_agent_not_allowed", `identity: default_agent_id "agent-2" is not in allowed_agents: spans that name no agent would all be dropped`},
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
	tests := []struct {
		name    string
		conf    map[string]any
		wantErr []string // empty: accepted
	}{
		{
			name:    "far from any key",
			conf:    map[string]any{"zzz": 1},
			wantErr: []string{`unknown key "zzz" in the agent365 exporter configuration`},
		},
		{
			name: "every unknown key is named",
			conf: map[string]any{
				"validation": map[string]any{"mod": "enforce", "log_interval": "1m"},
				"identity":   map[string]any{"default_tenant": "x"},
			},
			wantErr: []string{
				`unknown key "identity.default_tenant" in the agent365 exporter configuration; did you mean "identity.default_tenant_id"?`,
				`unknown key "validation.mod" in the agent365 exporter configuration; did you mean "validation.mode"?`,
			},
		},
		{
			name:    "in a later list element",
			conf:    map[string]any{"redact": []any{map[string]any{"keys": []any{"a"}, "action": "drop"}, map[string]any{"keys": []any{"b"}, "action": "hash", "hash_kye": "k"}}},
			wantErr: []string{`unknown key "redact[1].hash_kye" in the agent365 exporter configuration; did you mean "redact[1].hash_key"?`},
		},
		{
			name:    "under an optional section",
			conf:    map[string]any{"sending_queue": map[string]any{"enabled": true, "batch": map[string]any{"partition": map[string]any{"metadata_key": []any{"a"}}}}},
			wantErr: []string{`unknown key "sending_queue.batch.partition.metadata_key" in the agent365 exporter configuration; did you mean "sending_queue.batch.partition.metadata_keys"?`},
		},
		{
			name:    "in the client's tls section",
			conf:    map[string]any{"tls": map[string]any{"ca_fil": "/x"}},
			wantErr: []string{`unknown key "tls.ca_fil" in the agent365 exporter configuration; did you mean "tls.ca_file"?`},
		},
		{
			name: "client keys at depth and free-form maps",
			conf: map[string]any{
				"proxy_url": "http://127.0.0.1:3128", "read_buffer_size": 10,
				"headers":     map[string]any{"X-Anything": "v", "x-other": "w"},
				"tls":         map[string]any{"insecure": false, "ca_file": "/etc/ca.pem", "reload_interval": "1h"},
				"auth":        map[string]any{"authenticator": "agent365auth"},
				"middlewares": []any{map[string]any{"id": "m"}},
				"sending_queue": map[string]any{
					"enabled": true, "storage": "file_storage/q", "sizer": "bytes",
					"batch": map[string]any{"sizer": "items", "partition": map[string]any{"metadata_keys": []any{"k"}}},
				},
				"retry_on_failure": map[string]any{"enabled": true, "multiplier": 2},
				"identity":         map[string]any{"allowed_tenants": []any{tenantA}, "allowed_agents": []any{agent1}},
				"redact":           []any{map[string]any{"keys": []any{"a"}, "action": "hash", "hash_key": "k", "operations": []any{"chat"}}},
			},
		},
		{
			name: "headers as a list of pairs",
			conf: map[string]any{"headers": []any{map[string]any{"name": "x-team", "value": "agents"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig().(*Config)
			err := confmap.NewFromStringMap(tt.conf).Unmarshal(cfg)
			if len(tt.wantErr) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tt.wantErr {
				assert.Contains(t, err.Error(), want)
			}
			if !strings.Contains(tt.wantErr[0], "did you mean") {
				assert.NotContains(t, err.Error(), "did you mean")
			}
		})
	}
}

// TestUnknownKeyCheckLeavesConfigAlone: checking the keys decodes into a
// scratch value; the configuration keeps its defaults and gets the values.
func TestUnknownKeyCheckLeavesConfigAlone(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"operations": []any{"chat"},
		"headers":    map[string]any{"x-team": "agents"},
	}).Unmarshal(cfg))
	assert.Equal(t, []string{"chat"}, cfg.Operations)
	assert.Equal(t, 256000, cfg.MaxSpanBytes)
	assert.Equal(t, 30*time.Second, cfg.ClientConfig.Timeout)
	assert.True(t, cfg.QueueConfig.HasValue())
	assert.Len(t, cfg.ClientConfig.Headers, 1)
	assert.Equal(t, schema.Operations, NewFactory().CreateDefaultConfig().(*Config).Operations, "defaults are not shared")
}

// TestEnvListExpansion: how an allow-list takes its ids from the
// environment. The shipped gateways use the block list form.
func TestEnvListExpansion(t *testing.T) {
	t.Setenv("A365_TENANT_ID", tenantA)
	t.Setenv("A365_TENANT_IDS", tenantA+","+tenantB)
	t.Setenv("A365_TENANT_NUMBER", "424242")
	tests := []struct {
		name, list string
		want       []string
	}{
		{"block list", "\n    - ${env:A365_TENANT_ID}", []string{tenantA}},
		{"quoted flow list", ` ["${env:A365_TENANT_ID}"]`, []string{tenantA}},
		{"comma-separated value", " ${env:A365_TENANT_IDS}", []string{tenantA, tenantB}},
		{"number", "\n    - ${env:A365_TENANT_NUMBER}", []string{"424242"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf, err := resolveTestConfig(t, "identity:\n  allowed_tenants:"+tt.list+"\n")
			require.NoError(t, err)
			cfg := NewFactory().CreateDefaultConfig().(*Config)
			require.NoError(t, conf.Unmarshal(cfg))
			require.NoError(t, confmap.Validate(cfg))
			assert.Equal(t, tt.want, cfg.Identity.AllowedTenants)
		})
	}

	// Unquoted in a flow list, "{" opens a YAML mapping: not a valid document.
	_, err := resolveTestConfig(t, "identity:\n  allowed_tenants: [${env:A365_TENANT_ID}]\n")
	require.ErrorContains(t, err, "did not find expected ',' or ']'")

	// Unset, the list holds one empty id, which fails at startup.
	conf, err := resolveTestConfig(t, "identity:\n  allowed_tenants:\n    - ${env:A365_UNSET_TENANT}\n")
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, conf.Unmarshal(cfg))
	require.ErrorContains(t, confmap.Validate(cfg), "identity: allowed_tenants[0] is empty")
}

func TestAuthWarning(t *testing.T) {
	withAuth := func(c *Config) {
		c.ClientConfig.Auth = configoptional.Some(configauth.Config{AuthenticatorID: component.MustNewID("agent365auth")})
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // empty: no warning
	}{
		{"default endpoint without auth", func(*Config) {}, `no authenticator is set (auth.authenticator), so requests to https://agent365.svc.cloud.microsoft carry no token and the service will refuse them with 401; add the agent365auth extension to the service's extensions and set "auth: {authenticator: agent365auth}" on the exporter`},
		{"another https host without auth", func(c *Config) { c.ClientConfig.Endpoint = "https://agent365.example.com" }, "requests to https://agent365.example.com carry no token"},
		{"tenant islands without auth", func(c *Config) { c.EndpointDiscovery = discovery.ModeTenantIsland }, "requests to the tenant island hosts carry no token"},
		{"with auth", withAuth, ""},
		{"loopback stand-in", func(c *Config) { c.ClientConfig.Endpoint = "http://127.0.0.1:4319" }, ""},
		{"static authorization header", func(c *Config) { c.ClientConfig.Headers.Set("authorization", "Bearer x") }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig().(*Config)
			tt.mutate(cfg)
			got := authWarning(cfg)
			if tt.want == "" {
				assert.Empty(t, got)
				return
			}
			assert.Contains(t, got, tt.want)
		})
	}
}

func TestSpanLimit(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.MaxSpanBytes, cfg.MaxPayloadBytes = 256000, 900000
	// A small envelope leaves max_span_bytes as it is.
	assert.Equal(t, 256000, cfg.spanLimit(500))
	assert.Equal(t, 256000, cfg.spanLimit(payloadEnvelopeReserve))
	// A large one takes its room from the span.
	cfg.MaxSpanBytes = 900000 - payloadEnvelopeReserve
	assert.Equal(t, 900000-payloadEnvelopeReserve, cfg.spanLimit(payloadEnvelopeReserve))
	assert.Equal(t, 900000-20000, cfg.spanLimit(20000))
	// Never below zero, whatever the envelope.
	assert.Equal(t, 0, cfg.spanLimit(2_000_000))
}

// resolveTestConfig resolves a YAML document with the collector's resolver,
// expanding ${env:...} as the env provider does: the variable's value,
// parsed as YAML.
func resolveTestConfig(t *testing.T, doc string) (*confmap.Conf, error) {
	t.Helper()
	resolver, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs: []string{"doc:config"},
		ProviderFactories: []confmap.ProviderFactory{
			confmap.NewProviderFactory(func(confmap.ProviderSettings) confmap.Provider {
				return testProvider{scheme: "doc", retrieve: func(string) (*confmap.Retrieved, error) {
					return confmap.NewRetrievedFromYAML([]byte(doc))
				}}
			}),
			confmap.NewProviderFactory(func(confmap.ProviderSettings) confmap.Provider {
				return testProvider{scheme: "env", retrieve: func(uri string) (*confmap.Retrieved, error) {
					return confmap.NewRetrievedFromYAML([]byte(os.Getenv(strings.TrimPrefix(uri, "env:"))))
				}}
			}),
		},
		DefaultScheme: "env",
	})
	require.NoError(t, err)
	defer func() { require.NoError(t, resolver.Shutdown(context.Background())) }()
	return resolver.Resolve(context.Background())
}

type testProvider struct {
	scheme   string
	retrieve func(uri string) (*confmap.Retrieved, error)
}

func (p testProvider) Retrieve(_ context.Context, uri string, _ confmap.WatcherFunc) (*confmap.Retrieved, error) {
	return p.retrieve(uri)
}

func (p testProvider) Scheme() string { return p.scheme }

func (testProvider) Shutdown(context.Context) error { return nil }

// TestEveryMisspeltKeyIsNamed misspells, one at a time, every key of the
// sample configurations, at every depth, and expects the error to name it
// by its full path.
func TestEveryMisspeltKeyIsNamed(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	checked := 0
	for _, name := range []string{"full", "content_controls", "client_keys", "no_queue"} {
		sub, err := cm.Sub(component.MustNewIDWithName(metadata.Type.String(), name).String())
		require.NoError(t, err)
		raw := sub.ToStringMap()
		for _, path := range keyPaths(raw, "") {
			if strings.HasPrefix(path.name, "headers.") {
				continue // header names are free
			}
			t.Run(name+"/"+path.name, func(t *testing.T) {
				cfg := NewFactory().CreateDefaultConfig().(*Config)
				err := confmap.NewFromStringMap(path.misspell(sub.ToStringMap())).Unmarshal(cfg)
				require.ErrorContains(t, err, `unknown key "`+path.name+`x" in the agent365 exporter configuration; did you mean "`+path.name+`"?`)
			})
			checked++
		}
	}
	assert.Greater(t, checked, 40)
}

// keyPath is a key of a nested configuration map, and how to reach it.
type keyPath struct {
	name     string
	misspell func(root map[string]any) map[string]any
}

// keyPaths lists the keys of m, its nested maps and the maps in its lists.
func keyPaths(m map[string]any, prefix string) []keyPath {
	var out []keyPath
	for _, k := range sortedKeys(m) {
		name := join(prefix, k)
		out = append(out, keyPath{name: name, misspell: func(root map[string]any) map[string]any {
			parent := lookup(root, prefix)
			parent[k+"x"] = parent[k]
			delete(parent, k)
			return root
		}})
		switch v := m[k].(type) {
		case map[string]any:
			out = append(out, keyPaths(v, name)...)
		case []any:
			for i, e := range v {
				if em, ok := e.(map[string]any); ok {
					out = append(out, keyPaths(em, name+"["+strconv.Itoa(i)+"]")...)
				}
			}
		}
	}
	return out
}

// lookup finds the map at a path such as "redact[0]" or "sending_queue.batch".
func lookup(root map[string]any, path string) map[string]any {
	m := root
	if path == "" {
		return m
	}
	for _, part := range strings.Split(path, ".") {
		key, index, isList := strings.Cut(part, "[")
		v := m[key]
		if isList {
			i, _ := strconv.Atoi(strings.TrimSuffix(index, "]"))
			v = v.([]any)[i]
		}
		m = v.(map[string]any)
	}
	return m
}
