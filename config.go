package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"errors"
	"fmt"
	"net"
	"net/url"
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
	// UseS2SEndpoint selects the service-to-service (app-only token) routes.
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
	Format string `mapstructure:"format"`

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

// ValidationConfig sets how spans missing required attributes are treated.
type ValidationConfig struct {
	// Mode is off, report (count and log them) or enforce (drop them).
	Mode string `mapstructure:"mode"`
	// LogInterval is the least time between two summaries in the log.
	LogInterval time.Duration `mapstructure:"log_interval"`
}

// Validation modes.
const (
	ValidationOff     = "off"
	ValidationReport  = "report"
	ValidationEnforce = "enforce"
)

// RedactRule changes the values of some attribute keys before they leave
// the collector.
type RedactRule struct {
	// Keys are the attribute keys the rule applies to.
	Keys []string `mapstructure:"keys"`
	// Action is drop, replace (with the marker "[REDACTED]") or hash
	// ("sha256:" and the hex SHA-256, or HMAC-SHA256 with hash_key).
	Action string `mapstructure:"action"`
	// Operations limits the rule to spans of these operations; empty: all.
	Operations []string `mapstructure:"operations"`
	// HashKey makes hash an HMAC, so that short values cannot be guessed
	// from their hash.
	HashKey configopaque.String `mapstructure:"hash_key"`
}

// Redaction actions.
const (
	RedactDrop    = "drop"
	RedactReplace = "replace"
	RedactHash    = "hash"
)

// Body formats.
const (
	FormatA365     = "a365"
	FormatOTLPJSON = "otlp_json"
)

var _ component.Config = (*Config)(nil)

// Validate checks the configuration and says what to change.
func (cfg *Config) Validate() error {
	var errs []error
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
	default:
		errs = append(errs, fmt.Errorf("endpoint_discovery %q is unknown; use %q (current routes under endpoint) or %q (legacy per-tenant island hosts)",
			cfg.EndpointDiscovery, discovery.ModeGlobal, discovery.ModeTenantIsland))
	}
	if cfg.MaxPayloadBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_payload_bytes must be positive (the service takes about 1 MB; default 900000), got %d", cfg.MaxPayloadBytes))
	}
	if cfg.MaxSpanBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_span_bytes must be positive (default 256000), got %d", cfg.MaxSpanBytes))
	} else if cfg.MaxPayloadBytes > 0 && cfg.MaxSpanBytes > cfg.MaxPayloadBytes {
		errs = append(errs, fmt.Errorf("max_span_bytes (%d) must not be above max_payload_bytes (%d): a span must fit in a request",
			cfg.MaxSpanBytes, cfg.MaxPayloadBytes))
	}
	if cfg.Gate.MaxRetryAfter <= 0 {
		errs = append(errs, fmt.Errorf("gate.max_retry_after must be positive (default 1h), got %s", cfg.Gate.MaxRetryAfter))
	}
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
	if id := cfg.Identity.DefaultTenantID; id != "" {
		if err := discovery.CheckID(id); err != nil {
			errs = append(errs, fmt.Errorf("identity.default_tenant_id: %w", err))
		} else if cfg.EndpointDiscovery == discovery.ModeTenantIsland {
			if _, err := discovery.TenantIslandHost(cfg.ClusterCategory, id); err != nil && discovery.ValidCategory(cfg.ClusterCategory) {
				errs = append(errs, fmt.Errorf("identity.default_tenant_id: %w", err))
			}
		}
	}
	if id := cfg.Identity.DefaultAgentID; id != "" {
		if err := discovery.CheckID(id); err != nil {
			errs = append(errs, fmt.Errorf("identity.default_agent_id: %w", err))
		}
	}
	switch cfg.Validation.Mode {
	case ValidationOff, ValidationReport, ValidationEnforce:
	default:
		errs = append(errs, fmt.Errorf("validation.mode %q is unknown; use %q, %q (count and log spans missing required attributes) or %q (drop them)",
			cfg.Validation.Mode, ValidationOff, ValidationReport, ValidationEnforce))
	}
	if cfg.Validation.LogInterval < 0 {
		errs = append(errs, fmt.Errorf("validation.log_interval must not be negative, got %s", cfg.Validation.LogInterval))
	}
	for i, r := range cfg.Redact {
		if len(r.Keys) == 0 {
			errs = append(errs, fmt.Errorf("redact[%d].keys must list at least one attribute key, such as %q", i, "gen_ai.input.messages"))
		}
		for j, k := range r.Keys {
			if strings.TrimSpace(k) == "" {
				errs = append(errs, fmt.Errorf("redact[%d].keys[%d] is empty", i, j))
			} else if schema.IdentityKeys(k) {
				errs = append(errs, fmt.Errorf("redact[%d].keys[%d]: %q routes the span (identity or operation) and cannot be redacted", i, j, k))
			}
		}
		switch r.Action {
		case RedactDrop, RedactReplace, RedactHash:
		default:
			errs = append(errs, fmt.Errorf("redact[%d].action %q is unknown; use %q, %q or %q", i, r.Action, RedactDrop, RedactReplace, RedactHash))
		}
		if r.HashKey != "" && r.Action != RedactHash {
			errs = append(errs, fmt.Errorf("redact[%d].hash_key is set but action is %q; it only applies to %q", i, r.Action, RedactHash))
		}
		for j, op := range r.Operations {
			if strings.TrimSpace(op) == "" {
				errs = append(errs, fmt.Errorf("redact[%d].operations[%d] is empty", i, j))
			}
		}
	}
	switch cfg.Format {
	case FormatA365, FormatOTLPJSON:
	default:
		errs = append(errs, fmt.Errorf("format %q is unknown; use %q (the Agent 365 SDKs' JSON) or %q (standard OTLP/HTTP JSON)", cfg.Format, FormatA365, FormatOTLPJSON))
	}
	return errors.Join(errs...)
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
