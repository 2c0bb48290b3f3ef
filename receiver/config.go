package agent365receiver // import "github.com/agent365-otel/agent365exporter/receiver"

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/confignet"
)

const (
	// DefaultEndpoint is loopback, port 4320: next to the OTLP receiver's
	// 4317 (gRPC) and 4318 (HTTP) and a365sink's 4319, and clashing with
	// none of them.
	DefaultEndpoint = "localhost:4320"
	// DefaultMaxRequestBodySize is the Agent 365 service's body limit.
	DefaultMaxRequestBodySize = 1_000_000
	// DefaultRetryAfter is the Retry-After of 503 answers.
	DefaultRetryAfter = 5 * time.Second
	// DefaultTokenMetadataKey is where agent365auth's from_context looks
	// for the agent's token by default.
	DefaultTokenMetadataKey = "x-a365-token"

	maxRetryAfter = time.Hour
)

// Config is the agent365 receiver's configuration.
type Config struct {
	// ServerConfig is the HTTP server: endpoint, tls, max_request_body_size,
	// include_metadata, timeouts, auth, middlewares. A named, squashed field
	// (as in the OTLP receiver), so its keys sit at the top level.
	ServerConfig confighttp.ServerConfig `mapstructure:",squash"`

	// RetryAfter is sent as Retry-After (whole seconds, rounded up) with
	// 503 and 429 answers, when the pipeline refuses data for now
	// (memory_limiter, a full sending queue).
	RetryAfter time.Duration `mapstructure:"retry_after"`

	// TokenMetadataKey is the client metadata key under which the bearer
	// token of the request's Authorization header is handed on, when
	// include_metadata is true: agent365auth's from_context reads it there.
	TokenMetadataKey string `mapstructure:"token_metadata_key"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

func createDefaultConfig() component.Config {
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = DefaultEndpoint
	server.MaxRequestBodySize = DefaultMaxRequestBodySize
	// Agents send their token in Authorization; keeping it as client
	// metadata lets agent365auth's from_context forward it.
	server.IncludeMetadata = true
	return &Config{
		ServerConfig:     server,
		RetryAfter:       DefaultRetryAfter,
		TokenMetadataKey: DefaultTokenMetadataKey,
	}
}

// Validate checks the configuration; errors name the key to change.
func (cfg *Config) Validate() error {
	var errs []error
	if strings.TrimSpace(cfg.ServerConfig.NetAddr.Endpoint) == "" {
		errs = append(errs, errors.New("endpoint: must be set, e.g. localhost:4320"))
	}
	if t := cfg.ServerConfig.NetAddr.Transport; t != "" && t != confignet.TransportTypeTCP && t != confignet.TransportTypeTCP4 &&
		t != confignet.TransportTypeTCP6 && t != confignet.TransportTypeUnix {
		errs = append(errs, fmt.Errorf("transport %q: use tcp, tcp4, tcp6 or unix", t))
	}
	if cfg.ServerConfig.MaxRequestBodySize <= 0 {
		errs = append(errs, fmt.Errorf("max_request_body_size: must be positive, got %d (the Agent 365 service takes %d bytes)",
			cfg.ServerConfig.MaxRequestBodySize, DefaultMaxRequestBodySize))
	}
	if cfg.RetryAfter <= 0 || cfg.RetryAfter > maxRetryAfter {
		errs = append(errs, fmt.Errorf("retry_after: must be more than 0 and at most %s, got %s", maxRetryAfter, cfg.RetryAfter))
	}
	if cfg.ServerConfig.IncludeMetadata && !validHeaderName(cfg.TokenMetadataKey) {
		errs = append(errs, fmt.Errorf("token_metadata_key %q: must be a header name such as %q (letters, digits and -)",
			cfg.TokenMetadataKey, DefaultTokenMetadataKey))
	}
	return errors.Join(errs...)
}

// validHeaderName reports whether s is an HTTP header name (an RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// exposesTokens reports whether agents' tokens would cross a network in
// clear: a TCP endpoint that is not loopback, without TLS.
func (cfg *Config) exposesTokens() bool {
	if cfg.ServerConfig.TLS.HasValue() || cfg.ServerConfig.NetAddr.Transport == confignet.TransportTypeUnix {
		return false
	}
	host, _, err := net.SplitHostPort(cfg.ServerConfig.NetAddr.Endpoint)
	if err != nil {
		host = cfg.ServerConfig.NetAddr.Endpoint
	}
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip == nil || !ip.IsLoopback()
}
