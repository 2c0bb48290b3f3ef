package auth

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/agent365-otel/agent365exporter/auth/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	withDefaults := func(f func(*Config)) *Config {
		cfg := createDefaultConfig()
		f(cfg)
		return cfg
	}
	const (
		tokenFile = "/var/run/secrets/azure/tokens/azure-identity-token"
		agentA    = "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"
		agentC    = "cccccccc-0000-1111-2222-dddddddddddd"
	)
	valid := []struct {
		name string
		want *Config
	}{
		{"static_token", withDefaults(func(c *Config) { c.Static = &StaticConfig{Token: "my-static-token"} })},
		{"static_file", withDefaults(func(c *Config) { c.Static = &StaticConfig{TokenFile: "/var/run/secrets/a365/token"} })},
		{"client_secret", withDefaults(func(c *Config) {
			c.ClientCredentials = &ClientCredentialsConfig{CredentialConfig{
				ClientID: "00000000-0000-0000-0000-000000000001", ClientSecret: "my-client-secret", TenantID: "e3064512-cc6d-4703-be71-a2ecaecaa98a",
			}}
			c.Authority = "https://login.microsoftonline.us"
			c.RefreshBefore = 10 * time.Minute
		})},
		{"client_certificate", withDefaults(func(c *Config) {
			c.ClientCredentials = &ClientCredentialsConfig{CredentialConfig{
				ClientID: "00000000-0000-0000-0000-000000000001", CertificateFile: "/etc/a365/cert.pem", PrivateKeyFile: "/etc/a365/key.pem",
			}}
		})},
		{"workload_identity", withDefaults(func(c *Config) {
			c.ClientCredentials = &ClientCredentialsConfig{CredentialConfig{ClientID: "00000000-0000-0000-0000-000000000001", FederatedTokenFile: tokenFile}}
		})},
		{"managed_identity_system", withDefaults(func(c *Config) { c.ManagedIdentity = &ManagedIdentityConfig{} })},
		{"managed_identity_user", withDefaults(func(c *Config) {
			c.ManagedIdentity = &ManagedIdentityConfig{ClientID: "00000000-0000-0000-0000-000000000002"}
		})},
		{"blueprint", withDefaults(func(c *Config) {
			c.AgentBlueprint = &AgentBlueprintConfig{CredentialConfig{ClientID: "00000000-0000-0000-0000-000000000003", ClientSecret: "my-blueprint-secret"}}
		})},
		{"from_context", withDefaults(func(c *Config) { c.FromContext = &FromContextConfig{} })},
		{"from_context_header", withDefaults(func(c *Config) { c.FromContext = &FromContextConfig{Header: "authorization"} })},
		{"agents_only", withDefaults(func(c *Config) {
			c.Agents = map[string]AgentConfig{
				agentA: {ClientCredentials: &ClientCredentialsConfig{CredentialConfig{ClientID: "app-a", ClientSecret: "secret-a"}}},
				agentC: {ManagedIdentity: &ManagedIdentityConfig{}},
			}
		})},
		{"top_and_agents", withDefaults(func(c *Config) {
			c.AgentBlueprint = &AgentBlueprintConfig{CredentialConfig{ClientID: "00000000-0000-0000-0000-000000000003", FederatedTokenFile: tokenFile}}
			c.Agents = map[string]AgentConfig{agentA: {Static: &StaticConfig{Token: "token-a"}}}
		})},
		{"loopback_http", withDefaults(func(c *Config) {
			c.Authority = "http://127.0.0.1:8080"
			c.Static = &StaticConfig{Token: "t"}
		})},
		{"gateway", withDefaults(func(c *Config) {
			c.ClientCredentials = &ClientCredentialsConfig{CredentialConfig{ClientID: "00000000-0000-0000-0000-000000000001", ClientSecret: "my-client-secret"}}
			c.MaxCachedTokens = 50000
		})},
		{"custom_scope", withDefaults(func(c *Config) {
			c.Scopes = []string{"api://9b975845-388f-4429-889e-eab1ef63949c/Agent365.Observability.OtelWrite"}
			c.Static = &StaticConfig{Token: "t"}
		})},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadConfig(t, cm, tt.name)
			require.NoError(t, confmap.Validate(cfg))
			assert.Equal(t, tt.want, cfg)
		})
	}

	invalid := []struct {
		name string
		want []string
	}{
		{"no_source", []string{"no token source configured", "static, client_credentials, managed_identity, agent_blueprint or from_context"}},
		{"two_sources", []string{"only one token source", "static and managed_identity"}},
		{"cc_no_client_id", []string{"client_credentials: client_id is required"}},
		{"cc_no_credential", []string{"client_credentials: set exactly one credential: client_secret, certificate_file or federated_token_file"}},
		{"cc_two_credentials", []string{"client_credentials: set exactly one credential, found client_secret and certificate_file"}},
		{"cc_key_without_cert", []string{"private_key_file is only used with certificate_file"}},
		{"cc_common_tenant", []string{"tenant_id", `"common" is not a specific tenant`}},
		{"blueprint_no_credential", []string{"agent_blueprint: set exactly one credential"}},
		{"static_both", []string{"static: set only one of token and token_file"}},
		{"static_neither", []string{"static: set token or token_file"}},
		{"authority_http", []string{"http is only allowed to a loopback host"}},
		{"authority_path", []string{"must be the host alone", "tenant_id"}},
		{"authority_scheme", []string{"must be an https URL"}},
		{"negative_refresh", []string{"refresh_before must not be negative"}},
		{"no_cached_tokens", []string{"max_cached_tokens must be at least 1, got 0"}},
		{"empty_agent_id", []string{"agent id must not be empty"}},
		{"agent_two_sources", []string{"agents::" + agentA + ": only one token source may be set for an agent, found static and from_context"}},
		{"agent_no_source", []string{"agents::" + agentA + ": no token source for this agent"}},
		{"agent_bad_entry", []string{"agents::" + agentA + "::client_credentials: set exactly one credential"}},
		{"agent_ids_differ_in_case", []string{"are the same id"}},
		{"two_scopes", []string{"scopes:", "exactly one scope ending in /.default"}},
		{"scope_not_default", []string{"exactly one scope ending in /.default"}},
		{"bad_header", []string{"from_context: header \"x a365\" is not a valid"}},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadConfig(t, cm, tt.name)
			err := confmap.Validate(cfg)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}

	t.Run("unknown_key", func(t *testing.T) {
		sub, err := cm.Sub(component.NewIDWithName(metadata.Type, "unknown_key").String())
		require.NoError(t, err)
		err = sub.Unmarshal(NewFactory().CreateDefaultConfig())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "tokn")
	})
}

func loadConfig(t *testing.T, cm *confmap.Conf, name string) *Config {
	t.Helper()
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg.(*Config)
}

func TestSecretsAreOpaque(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.ClientCredentials = secretCC("app", testSecret)
	cfg.Static = &StaticConfig{Token: "static-token-value"}
	conf := confmap.New()
	require.NoError(t, conf.Marshal(cfg))
	printed := fmt.Sprint(conf.ToStringMap())
	assert.NotContains(t, printed, testSecret)
	assert.NotContains(t, printed, "static-token-value")
	assert.Contains(t, printed, "[REDACTED]")
}

func TestValidateAuthority(t *testing.T) {
	for a, ok := range map[string]bool{
		"https://login.microsoftonline.com":         true,
		"https://login.microsoftonline.com/":        true,
		"https://login.partner.microsoftonline.cn":  true,
		"http://localhost:8080":                     true,
		"http://127.0.0.1:8080":                     true,
		"http://[::1]:8080":                         true,
		"":                                          false,
		"login.microsoftonline.com":                 false,
		"https://login.microsoftonline.com?x=1":     false,
		"https://user:pw@login.microsoftonline.com": false,
		"https://login.microsoftonline.com/#frag":   false,
		"http://10.0.0.1":                           false,
		"https://login.microsoftonline.com/common":  false,
		"https://%zz":                               false,
	} {
		err := validateAuthority(a)
		if ok {
			assert.NoError(t, err, a)
		} else {
			assert.Error(t, err, a)
		}
	}
}
