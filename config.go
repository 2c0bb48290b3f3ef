package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/agent365-otel/agent365exporter/internal/discovery"
	"github.com/agent365-otel/agent365exporter/internal/schema"
)

// Config defines the configuration of the agent365 exporter.
type Config struct {
	// ClientConfig holds endpoint, auth, tls, headers, timeout, proxy_url,
	// compression and the other HTTP client settings. A named, squashed
	// field: embedding it would let its Unmarshal take over the whole config.
	ClientConfig confighttp.ClientConfig                                  `mapstructure:",squash"`
	QueueConfig  configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	RetryConfig  configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`

	// EndpointDiscovery is "global" (current routes under endpoint) or
	// "tenant_island" (legacy per-tenant island host).
	EndpointDiscovery discovery.Mode `mapstructure:"endpoint_discovery"`
	// ClusterCategory is the Power Platform cluster of tenant_island discovery.
	ClusterCategory string `mapstructure:"cluster_category"`
	// UseS2SEndpoint selects the service-to-service routes, which take
	// app-only tokens (the default, as Microsoft's own exporters now send);
	// false selects the standard routes, for agents' delegated tokens.
	// agent365auth sends an agent's own token (from_context) to the
	// standard route either way.
	UseS2SEndpoint bool `mapstructure:"use_s2s_endpoint"`

	Identity IdentityConfig `mapstructure:"identity"`

	// Gate bounds how long and how much an identity's spans are held back
	// while the service throttles it or its requests fail.
	Gate GateConfig `mapstructure:"gate"`

	// Operations lists the accepted gen_ai.operation.name values.
	Operations []string `mapstructure:"operations"`

	// MaxSpanBytes is the largest encoded span; larger ones are truncated.
	MaxSpanBytes int `mapstructure:"max_span_bytes"`
	// MaxPayloadBytes is the largest request body.
	MaxPayloadBytes int `mapstructure:"max_payload_bytes"`
	// MaxConcurrentRequests bounds the requests one batch sends at once.
	MaxConcurrentRequests int `mapstructure:"max_concurrent_requests"`

	// SuppressInvokeAgentInput leaves gen_ai.input.messages out of invoke_agent spans.
	SuppressInvokeAgentInput bool `mapstructure:"suppress_invoke_agent_input"`
	// Redact rules drop, replace or hash attribute values before they are sent.
	Redact []RedactRule `mapstructure:"redact"`

	// UpgradeLegacyAttributes renames the attribute names of older
	// instrumentation (tenant.id, gen_ai.caller.id, ...) to the current ones.
	UpgradeLegacyAttributes bool `mapstructure:"upgrade_legacy_attributes"`
	// Validation checks the attributes Agent 365 requires of each operation.
	Validation ValidationConfig `mapstructure:"validation"`

	// Format is the body shape: a365 (the SDKs' flattened JSON) or otlp_json.
	Format Format `mapstructure:"format"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// IdentityConfig says where the (tenant, agent) of a span comes from when
// the span's own attributes do not name them.
type IdentityConfig struct {
	DefaultTenantID string `mapstructure:"default_tenant_id"`
	DefaultAgentID  string `mapstructure:"default_agent_id"`
	// FromResource looks for the identity keys on the resource.
	FromResource bool `mapstructure:"from_resource"`
	// AllowedTenants, when not empty, are the only tenants whose spans are
	// sent (matched ignoring case: tenant ids are GUIDs or domain names);
	// the others are dropped before a token is asked for them.
	AllowedTenants []string `mapstructure:"allowed_tenants"`
	// AllowedAgents, when not empty, are the only agents whose spans are
	// sent (matched exactly).
	AllowedAgents []string `mapstructure:"allowed_agents"`
}

// GateConfig bounds the spans held for identities that must wait. How long
// an identity waits after a failure is retry_on_failure's backoff, per
// identity; a Retry-After from the service is honoured up to MaxRetryAfter.
type GateConfig struct {
	// MaxRetryAfter is the longest Retry-After whose identity's spans are
	// held; an identity asked to wait longer has its spans dropped.
	MaxRetryAfter time.Duration `mapstructure:"max_retry_after"`
	// MaxHeldBytes bounds the encoded spans held, over all identities.
	MaxHeldBytes int `mapstructure:"max_held_bytes"`
}

// ValidationConfig sets how spans are checked against the attribute
// contract of the service.
type ValidationConfig struct {
	// Mode is off, report (count and log spans that miss required
	// attributes or hold values of another type) or enforce (also drop
	// spans that miss required attributes).
	Mode ValidationMode `mapstructure:"mode"`
	// LogInterval is the least time between two summaries in the log.
	LogInterval time.Duration `mapstructure:"log_interval"`
	// CoerceTypes converts, in place, a value of another type than the
	// contract's when the conversion is lossless (server.port 443 to "443",
	// "33" to 33 for a token count, "stop" to ["stop"]); otherwise such
	// values are only reported.
	CoerceTypes bool `mapstructure:"coerce_types"`
}

// RedactRule changes the values of some attribute keys before they leave
// the collector.
type RedactRule struct {
	// Keys are the attribute keys the rule applies to.
	Keys []string `mapstructure:"keys"`
	// Classes adds the keys of these privacy classes of the service's
	// contract (EUII, EUPI, CustomerContent, OII), legacy names included.
	Classes []PrivacyClass `mapstructure:"classes"`
	// Action is drop, replace (with the marker "[REDACTED]") or hash
	// ("sha256:" and the hex SHA-256, or HMAC-SHA256 with hash_key).
	Action RedactAction `mapstructure:"action"`
	// Operations limits the rule to spans of these operations; empty: all.
	Operations []string `mapstructure:"operations"`
	// HashKey makes hash an HMAC, so that short values cannot be guessed
	// from their hash.
	HashKey configopaque.String `mapstructure:"hash_key"`
}

// Size bounds of requests and spans.
const (
	// maxServiceBodyBytes is the largest body the ingestion service takes;
	// larger ones have been answered with 403, 500 or 502, not only 413.
	maxServiceBodyBytes = 1_000_000
	// minSpanBytes leaves room for what truncation never removes: ids,
	// times, kind, status, a name and the identity and operation
	// attributes, about 1 KB in the a365 format, and the truncation markers.
	minSpanBytes = 4096
	// payloadEnvelopeReserve is the part of max_payload_bytes that
	// max_span_bytes leaves to the resource and scope of a request, so that
	// a span truncated to max_span_bytes fits in a request alone under an
	// ordinary envelope. A larger envelope takes its room from the span
	// (spanLimit).
	payloadEnvelopeReserve = 8192
	// minPayloadBytes holds the envelope reserve and two spans of the
	// smallest max_span_bytes, so that requests do not degrade to one span.
	minPayloadBytes = payloadEnvelopeReserve + 2*minSpanBytes
)

// spanLimit is the size a span must be truncated to so that a request
// holding it alone, under an envelope (resource and scope openings and
// closings) of envelope bytes, stays within max_payload_bytes.
func (cfg *Config) spanLimit(envelope int) int {
	return max(0, min(cfg.MaxSpanBytes, cfg.MaxPayloadBytes-envelope))
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration and says what to change. Its sections
// validate themselves (identity, gate, validation, each redact rule); what
// spans sections is checked here.
func (cfg *Config) Validate() error {
	var errs []error
	if err := cfg.EndpointDiscovery.Check(); err != nil {
		errs = append(errs, err)
	}
	switch cfg.EndpointDiscovery {
	case discovery.ModeGlobal:
		if err := validateEndpoint(cfg.ClientConfig.Endpoint); err != nil {
			errs = append(errs, err)
		}
	case discovery.ModeTenantIsland:
		if !discovery.ValidCategory(cfg.ClusterCategory) {
			errs = append(errs, fmt.Errorf("cluster_category %q is unknown; use one of %s",
				cfg.ClusterCategory, strings.Join(discovery.Categories(), ", ")))
		}
	}
	if err := validateProxy(cfg.ClientConfig.ProxyURL, cfg.ClientConfig.Endpoint, cfg.EndpointDiscovery); err != nil {
		errs = append(errs, err)
	}
	if cfg.ClientConfig.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout must be positive (default 30s): without it a hung connection holds a request, and the collector's shutdown, forever; got %s", cfg.ClientConfig.Timeout))
	}
	errs = append(errs, cfg.validateSizes()...)
	if cfg.Gate.MaxHeldBytes < cfg.MaxPayloadBytes {
		errs = append(errs, fmt.Errorf("gate.max_held_bytes (%d) must be at least max_payload_bytes (%d), so that one request's spans can be held (default 67108864)",
			cfg.Gate.MaxHeldBytes, cfg.MaxPayloadBytes))
	}
	if cfg.MaxConcurrentRequests <= 0 {
		errs = append(errs, fmt.Errorf("max_concurrent_requests must be at least 1, got %d", cfg.MaxConcurrentRequests))
	}
	if len(cfg.Operations) == 0 {
		errs = append(errs, errors.New("operations must list at least one gen_ai.operation.name; remove the key to accept the service's eight operations"))
	}
	for i, op := range cfg.Operations {
		if strings.TrimSpace(op) == "" {
			errs = append(errs, fmt.Errorf("operations[%d] is empty; list operation names such as %q", i, "invoke_agent"))
		}
	}
	errs = append(errs, cfg.validateIslandTenants()...)
	if err := cfg.Format.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// validateIslandTenants: under tenant_island discovery every configured
// tenant id must also make an island host.
func (cfg *Config) validateIslandTenants() []error {
	if cfg.EndpointDiscovery != discovery.ModeTenantIsland || !discovery.ValidCategory(cfg.ClusterCategory) {
		return nil
	}
	var errs []error
	if id := cfg.Identity.DefaultTenantID; id != "" && discovery.CheckID(id) == nil {
		if _, err := discovery.TenantIslandHost(cfg.ClusterCategory, id); err != nil {
			errs = append(errs, fmt.Errorf("identity.default_tenant_id: %w", err))
		}
	}
	for i, t := range cfg.Identity.AllowedTenants {
		if discovery.CheckID(t) != nil {
			continue
		}
		if _, err := discovery.TenantIslandHost(cfg.ClusterCategory, t); err != nil {
			errs = append(errs, fmt.Errorf("identity.allowed_tenants[%d]: %w", i, err))
		}
	}
	return errs
}

// Validate checks the identity section.
func (id *IdentityConfig) Validate() error {
	var errs []error
	if id.DefaultTenantID != "" {
		if err := discovery.CheckID(id.DefaultTenantID); err != nil {
			errs = append(errs, fmt.Errorf("default_tenant_id: %w", err))
		}
	}
	if id.DefaultAgentID != "" {
		if err := discovery.CheckID(id.DefaultAgentID); err != nil {
			errs = append(errs, fmt.Errorf("default_agent_id: %w", err))
		}
	}
	errs = append(errs, validateAllowList("allowed_tenants", "tenant", id.AllowedTenants, true)...)
	errs = append(errs, validateAllowList("allowed_agents", "agent", id.AllowedAgents, false)...)
	if id.DefaultTenantID != "" && len(id.AllowedTenants) > 0 && !newAllowList(id.AllowedTenants, true).allows(strings.TrimSpace(id.DefaultTenantID)) {
		errs = append(errs, fmt.Errorf("default_tenant_id %q is not in allowed_tenants: spans that name no tenant would all be dropped", id.DefaultTenantID))
	}
	if id.DefaultAgentID != "" && len(id.AllowedAgents) > 0 && !newAllowList(id.AllowedAgents, false).allows(strings.TrimSpace(id.DefaultAgentID)) {
		errs = append(errs, fmt.Errorf("default_agent_id %q is not in allowed_agents: spans that name no agent would all be dropped", id.DefaultAgentID))
	}
	return errors.Join(errs...)
}

// Validate checks the gate section.
func (g *GateConfig) Validate() error {
	var errs []error
	if g.MaxRetryAfter <= 0 {
		errs = append(errs, fmt.Errorf("max_retry_after must be positive (default 1h), got %s", g.MaxRetryAfter))
	}
	if g.MaxHeldBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_held_bytes must be positive (default 67108864), got %d", g.MaxHeldBytes))
	}
	return errors.Join(errs...)
}

// Validate checks the validation section.
func (v *ValidationConfig) Validate() error {
	var errs []error
	if err := v.Mode.validate(); err != nil {
		errs = append(errs, err)
	}
	if v.LogInterval < 0 {
		errs = append(errs, fmt.Errorf("log_interval must not be negative, got %s", v.LogInterval))
	}
	if v.CoerceTypes && v.Mode == ValidationOff {
		errs = append(errs, errors.New("coerce_types needs the attributes checked: set mode to report or enforce"))
	}
	return errors.Join(errs...)
}

// Validate checks one redact rule.
func (r *RedactRule) Validate() error {
	var errs []error
	if len(r.Keys) == 0 && len(r.Classes) == 0 {
		errs = append(errs, fmt.Errorf("keys or classes must name what to redact, such as keys: [%s] or classes: [EUII]", "gen_ai.input.messages"))
	}
	for j, k := range r.Keys {
		if strings.TrimSpace(k) == "" {
			errs = append(errs, fmt.Errorf("keys[%d] is empty", j))
		} else if schema.IdentityKeys(k) {
			errs = append(errs, fmt.Errorf("keys[%d]: %q routes the span (identity or operation) and cannot be redacted", j, k))
		}
	}
	for j, c := range r.Classes {
		if _, err := c.class(); err != nil {
			errs = append(errs, fmt.Errorf("classes[%d]: %w", j, err))
		}
	}
	if err := r.Action.validate(); err != nil {
		errs = append(errs, err)
	}
	if r.HashKey != "" && r.Action != RedactHash {
		errs = append(errs, fmt.Errorf("hash_key is set but action is %q; it only applies to %q", r.Action, RedactHash))
	}
	for j, op := range r.Operations {
		if strings.TrimSpace(op) == "" {
			errs = append(errs, fmt.Errorf("operations[%d] is empty", j))
		}
	}
	return errors.Join(errs...)
}

// validateSizes checks max_span_bytes and max_payload_bytes against their
// floors, the service's body limit and each other.
func (cfg *Config) validateSizes() []error {
	var errs []error
	spanOK, payloadOK := true, true
	if cfg.MaxSpanBytes < minSpanBytes {
		spanOK = false
		errs = append(errs, fmt.Errorf("max_span_bytes must be at least %d (room for a span's ids, times, name and identity attributes once its values are truncated), got %d",
			minSpanBytes, cfg.MaxSpanBytes))
	}
	switch {
	case cfg.MaxPayloadBytes < minPayloadBytes:
		payloadOK = false
		errs = append(errs, fmt.Errorf("max_payload_bytes must be at least %d (room for the resource and scope of a request and two spans of the smallest max_span_bytes), got %d",
			minPayloadBytes, cfg.MaxPayloadBytes))
	case cfg.MaxPayloadBytes > maxServiceBodyBytes:
		payloadOK = false
		errs = append(errs, fmt.Errorf("max_payload_bytes must be at most %d, the largest body the service accepts; got %d (default 900000)",
			maxServiceBodyBytes, cfg.MaxPayloadBytes))
	}
	if spanOK && payloadOK && cfg.MaxSpanBytes > cfg.MaxPayloadBytes-payloadEnvelopeReserve {
		errs = append(errs, fmt.Errorf("max_span_bytes (%d) must leave %d bytes of max_payload_bytes (%d) for the resource and scope of a request: set it to at most %d",
			cfg.MaxSpanBytes, payloadEnvelopeReserve, cfg.MaxPayloadBytes, cfg.MaxPayloadBytes-payloadEnvelopeReserve))
	}
	return errs
}

func validateAllowList(key, what string, ids []string, foldCase bool) []error {
	var errs []error
	first := map[string]int{}
	for i, id := range ids {
		if strings.TrimSpace(id) == "" {
			errs = append(errs, fmt.Errorf("%s[%d] is empty; list %s ids, or remove the key to accept every %s", key, i, what, what))
			continue
		}
		if err := discovery.CheckID(id); err != nil {
			errs = append(errs, fmt.Errorf("%s[%d]: %w", key, i, err))
			continue
		}
		k := id
		if foldCase {
			k = strings.ToLower(id)
		}
		if j, ok := first[k]; ok {
			msg := fmt.Sprintf("%s[%d] %q repeats %s[%d]", key, i, id, key, j)
			if foldCase {
				msg += " (" + what + " ids match ignoring case)"
			}
			errs = append(errs, errors.New(msg))
			continue
		}
		first[k] = i
	}
	return errs
}

// validateProxy: proxy_url is the first hop of every request. Under an
// https endpoint the proxy only tunnels (CONNECT) and TLS runs end to end,
// so any proxy will do; under a plain http endpoint the proxy reads the
// request, bearer token included, so it must be local like the endpoint.
func validateProxy(proxy, endpoint string, mode discovery.Mode) error {
	if proxy == "" {
		return nil
	}
	u, err := url.Parse(proxy)
	if err != nil || u.Host == "" || !slices.Contains([]string{"http", "https", "socks5", "socks5h"}, u.Scheme) {
		return fmt.Errorf("proxy_url %q must be a URL such as http://proxy.example.com:3128 (schemes http, https, socks5)", proxy)
	}
	if mode != discovery.ModeGlobal || isLoopback(u.Hostname()) {
		return nil
	}
	if e, err := url.Parse(endpoint); err == nil && e.Scheme == "http" {
		return fmt.Errorf("proxy_url %q is not a loopback host, but endpoint %q is plain http: the proxy is the first hop and would see the bearer tokens in clear; use an https endpoint (tunnelled by CONNECT, TLS end to end) or a proxy on localhost, 127.0.0.0/8 or ::1",
			proxy, endpoint)
	}
	return nil
}

// authWarning is the startup warning for a configuration that sends
// requests without a token to a service that requires one; empty when
// there is nothing to say. An endpoint on a loopback host is a local
// stand-in, which may not check tokens.
func authWarning(cfg *Config) string {
	if cfg.ClientConfig.Auth.HasValue() {
		return ""
	}
	if hasHeader(cfg, "Authorization") {
		return ""
	}
	target := cfg.ClientConfig.Endpoint
	if cfg.EndpointDiscovery == discovery.ModeTenantIsland {
		target = "the tenant island hosts"
	} else if u, err := url.Parse(target); err == nil && isLoopback(u.Hostname()) {
		return ""
	}
	return fmt.Sprintf(`no authenticator is set (auth.authenticator), so requests to %s carry no token and the service will refuse them with 401; add the agent365auth extension to the service's extensions and set "auth: {authenticator: agent365auth}" on the exporter`, target)
}

// hasHeader reports whether headers sets name, whatever its case.
func hasHeader(cfg *Config, name string) bool {
	for k := range cfg.ClientConfig.Headers.Iter {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// validateEndpoint accepts https URLs, and http only to a loopback host:
// requests carry bearer tokens.
func validateEndpoint(endpoint string) error {
	if endpoint == "" {
		return errors.New("endpoint is empty; remove the key to use https://agent365.svc.cloud.microsoft, or set the ingestion service's base URL")
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("endpoint %q is not a valid URL: %w", endpoint, err)
	}
	if u.Host == "" {
		return fmt.Errorf("endpoint %q has no host; write it as https://host[:port]", endpoint)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("endpoint %q must not have a query or fragment; the exporter appends the route and ?api-version=1", endpoint)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("endpoint %q uses plain http to a non-loopback host; requests carry bearer tokens, so use https (http is accepted only for localhost, 127.0.0.0/8 and ::1)", endpoint)
	default:
		return fmt.Errorf("endpoint %q must start with https:// (or http:// to a loopback host)", endpoint)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
