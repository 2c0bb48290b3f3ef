package auth // import "github.com/agent365-otel/agent365exporter/auth"

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
)

const (
	// DefaultAuthority is the Microsoft Entra authority of the public cloud.
	DefaultAuthority = "https://login.microsoftonline.com"
	// DefaultScope is the scope of the Agent 365 observability API for
	// app-only (client credentials) tokens.
	DefaultScope = "api://9b975845-388f-4429-889e-eab1ef63949c/.default"
	// DefaultRefreshBefore is how long before expiry a cached token is renewed.
	DefaultRefreshBefore = 5 * time.Minute
	// DefaultMaxCachedTokens bounds the identities the token cache
	// remembers.
	DefaultMaxCachedTokens = 10000
	// DefaultHeader is the client metadata key from_context reads.
	DefaultHeader = "x-a365-token"

	// tokenExchangeScope is the scope of hop 1 of the agent blueprint flow.
	tokenExchangeScope = "api://AzureADTokenExchange/.default"
)

// Config is the configuration of the agent365auth extension. Exactly one
// token source is set at the top level, unless Agents names a source for
// every agent the exporter sends for.
type Config struct {
	Static            *StaticConfig            `mapstructure:"static"`
	ClientCredentials *ClientCredentialsConfig `mapstructure:"client_credentials"`
	ManagedIdentity   *ManagedIdentityConfig   `mapstructure:"managed_identity"`
	AgentBlueprint    *AgentBlueprintConfig    `mapstructure:"agent_blueprint"`
	FromContext       *FromContextConfig       `mapstructure:"from_context"`

	// Authority is the Entra authority host; the tenant is appended per
	// request. Sovereign clouds and tests change it.
	Authority string `mapstructure:"authority"`
	// Scopes are requested by client_credentials, agent_blueprint (hop 2)
	// and managed_identity.
	Scopes []string `mapstructure:"scopes"`
	// RefreshBefore renews a cached token this long before it expires.
	RefreshBefore time.Duration `mapstructure:"refresh_before"`
	// MaxCachedTokens bounds the identities whose token (or last failure)
	// is cached; beyond it the least recently used is evicted.
	MaxCachedTokens int `mapstructure:"max_cached_tokens"`

	// Agents overrides the token source per agent id.
	Agents map[string]AgentConfig `mapstructure:"agents"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// AgentConfig is the token source of one agent: exactly one of its fields.
type AgentConfig struct {
	Static            *StaticConfig            `mapstructure:"static"`
	ClientCredentials *ClientCredentialsConfig `mapstructure:"client_credentials"`
	ManagedIdentity   *ManagedIdentityConfig   `mapstructure:"managed_identity"`
	AgentBlueprint    *AgentBlueprintConfig    `mapstructure:"agent_blueprint"`
	FromContext       *FromContextConfig       `mapstructure:"from_context"`
}

// StaticConfig is a fixed token, inline or in a file.
type StaticConfig struct {
	Token configopaque.String `mapstructure:"token"`
	// TokenFile is re-read when it changes; trailing whitespace is trimmed.
	TokenFile string `mapstructure:"token_file"`
}

// CredentialConfig is an Entra app registration's credential: exactly one
// of ClientSecret, CertificateFile and FederatedTokenFile.
type CredentialConfig struct {
	ClientID     string              `mapstructure:"client_id"`
	ClientSecret configopaque.String `mapstructure:"client_secret"`
	// CertificateFile holds a PEM certificate, and its RSA key unless
	// PrivateKeyFile is set.
	CertificateFile string `mapstructure:"certificate_file"`
	PrivateKeyFile  string `mapstructure:"private_key_file"`
	// FederatedTokenFile holds a federated assertion (Kubernetes workload
	// identity); it is read again for every token request.
	FederatedTokenFile string `mapstructure:"federated_token_file"`
	// TenantID pins the tenant; by default tokens are requested in the
	// tenant of each request.
	TenantID string `mapstructure:"tenant_id"`
}

// ClientCredentialsConfig is the client credentials flow of an app
// registration (service to service).
type ClientCredentialsConfig struct {
	CredentialConfig `mapstructure:",squash"`
}

// AgentBlueprintConfig is the two-hop flow of an agent identity blueprint:
// the blueprint's credential yields a token for every agent instance of
// the blueprint.
type AgentBlueprintConfig struct {
	CredentialConfig `mapstructure:",squash"`
}

// ManagedIdentityConfig selects an Azure managed identity.
type ManagedIdentityConfig struct {
	// ClientID of a user-assigned identity; empty for the system-assigned one.
	ClientID string `mapstructure:"client_id"`
}

// FromContextConfig takes the token from the client metadata of the
// incoming request (receiver with include_metadata: true).
type FromContextConfig struct {
	// Header is the client metadata key; default x-a365-token.
	Header string `mapstructure:"header"`
}

func createDefaultConfig() *Config {
	return &Config{
		Authority:       DefaultAuthority,
		Scopes:          []string{DefaultScope},
		RefreshBefore:   DefaultRefreshBefore,
		MaxCachedTokens: DefaultMaxCachedTokens,
	}
}

var (
	_ confmap.Unmarshaler = (*Config)(nil)
	_ confmap.Validator   = (*Config)(nil)
	_ confmap.Validator   = (*AgentConfig)(nil)
)

// Unmarshal decodes the configuration. A source written with no settings
// ("managed_identity:" or "from_context:") counts as configured.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	if conf == nil {
		return nil
	}
	if err := conf.Unmarshal(cfg); err != nil {
		return err
	}
	raw := conf.ToStringMap()
	emptySections(raw, &cfg.ManagedIdentity, &cfg.FromContext)
	if agents, ok := raw["agents"].(map[string]any); ok {
		for id, v := range agents {
			m, _ := v.(map[string]any)
			ac := cfg.Agents[id]
			emptySections(m, &ac.ManagedIdentity, &ac.FromContext)
			if cfg.Agents != nil {
				cfg.Agents[id] = ac
			}
		}
	}
	return nil
}

// emptySections sets the sources that are present with a null value in raw.
func emptySections(raw map[string]any, mi **ManagedIdentityConfig, fc **FromContextConfig) {
	if v, ok := raw["managed_identity"]; ok && v == nil && *mi == nil {
		*mi = &ManagedIdentityConfig{}
	}
	if v, ok := raw["from_context"]; ok && v == nil && *fc == nil {
		*fc = &FromContextConfig{}
	}
}

// sources lists the configured sources of one entry.
func (a *AgentConfig) sources() []string {
	var names []string
	if a.Static != nil {
		names = append(names, sourceStatic)
	}
	if a.ClientCredentials != nil {
		names = append(names, sourceClientCredentials)
	}
	if a.ManagedIdentity != nil {
		names = append(names, sourceManagedIdentity)
	}
	if a.AgentBlueprint != nil {
		names = append(names, sourceAgentBlueprint)
	}
	if a.FromContext != nil {
		names = append(names, sourceFromContext)
	}
	return names
}

const allSources = "static, client_credentials, managed_identity, agent_blueprint or from_context"

// topLevel is the source set at the top level, which serves every agent
// without an entry of its own.
func (cfg *Config) topLevel() *AgentConfig {
	return &AgentConfig{
		Static:            cfg.Static,
		ClientCredentials: cfg.ClientCredentials,
		ManagedIdentity:   cfg.ManagedIdentity,
		AgentBlueprint:    cfg.AgentBlueprint,
		FromContext:       cfg.FromContext,
	}
}

// Validate checks the extension's configuration. The sections' own
// Validate methods are called by confmap.Validate, which prefixes their
// errors with the section's path.
func (cfg *Config) Validate() error {
	var errs []error
	switch names := cfg.topLevel().sources(); {
	case len(names) == 0 && len(cfg.Agents) == 0:
		errs = append(errs, fmt.Errorf("no token source configured: set one of %s, or list per-agent sources under agents", allSources))
	case len(names) > 1:
		errs = append(errs, fmt.Errorf("only one token source may be set at the top level, found %s: keep one, and move the others under agents::<agent id> if they belong to specific agents", strings.Join(names, " and ")))
	}
	if err := validateAuthority(cfg.Authority); err != nil {
		errs = append(errs, err)
	}
	if cfg.RefreshBefore < 0 {
		errs = append(errs, fmt.Errorf("refresh_before must not be negative, got %s", cfg.RefreshBefore))
	}
	if cfg.MaxCachedTokens < 1 {
		errs = append(errs, fmt.Errorf("max_cached_tokens must be at least 1, got %d; the default is %d", cfg.MaxCachedTokens, DefaultMaxCachedTokens))
	}
	if err := cfg.validateScopes(); err != nil {
		errs = append(errs, err)
	}
	seen := map[string]string{}
	for id := range cfg.Agents {
		if strings.TrimSpace(id) == "" {
			errs = append(errs, errors.New("agents: an agent id must not be empty"))
			continue
		}
		if strings.TrimSpace(id) != id {
			errs = append(errs, fmt.Errorf("agents: agent id %q has surrounding spaces", id))
		}
		if other, dup := seen[strings.ToLower(id)]; dup {
			errs = append(errs, fmt.Errorf("agents: agent ids %q and %q are the same id (ids are compared without case)", other, id))
		}
		seen[strings.ToLower(id)] = id
	}
	return errors.Join(errs...)
}

// validateScopes requires one .default scope when a flow asks Entra or a
// managed identity endpoint for tokens: app-only tokens are requested for
// one resource at a time.
func (cfg *Config) validateScopes() error {
	if len(cfg.Scopes) == 0 {
		return fmt.Errorf("scopes must not be empty; the default is [%s]", DefaultScope)
	}
	for i, s := range cfg.Scopes {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("scopes::%d must not be empty", i)
		}
	}
	needsDefault := slices.ContainsFunc(cfg.topLevel().sources(), requestsTokens)
	for _, a := range cfg.Agents {
		needsDefault = needsDefault || slices.ContainsFunc(a.sources(), requestsTokens)
	}
	if needsDefault && (len(cfg.Scopes) != 1 || !strings.HasSuffix(cfg.Scopes[0], "/.default")) {
		return fmt.Errorf("scopes: client_credentials, agent_blueprint and managed_identity request app-only tokens, which take exactly one scope ending in /.default (such as %s), got %q", DefaultScope, cfg.Scopes)
	}
	return nil
}

func requestsTokens(source string) bool {
	return source == sourceClientCredentials || source == sourceAgentBlueprint || source == sourceManagedIdentity
}

// Validate checks that an agent entry names exactly one source.
func (a *AgentConfig) Validate() error {
	switch names := a.sources(); len(names) {
	case 1:
		return nil
	case 0:
		return fmt.Errorf("no token source for this agent: set one of %s", allSources)
	default:
		return fmt.Errorf("only one token source may be set for an agent, found %s", strings.Join(names, " and "))
	}
}

// Validate checks a static source.
func (s *StaticConfig) Validate() error {
	switch {
	case s.Token == "" && s.TokenFile == "":
		return errors.New("set token or token_file")
	case s.Token != "" && s.TokenFile != "":
		return errors.New("set only one of token and token_file")
	case s.Token != "" && strings.TrimSpace(string(s.Token)) == "":
		return errors.New("token is blank")
	}
	return nil
}

// Validate checks a client_credentials source.
func (c *ClientCredentialsConfig) Validate() error { return c.CredentialConfig.validate() }

// Validate checks an agent_blueprint source.
func (c *AgentBlueprintConfig) Validate() error { return c.CredentialConfig.validate() }

func (c *CredentialConfig) validate() error {
	var errs []error
	if strings.TrimSpace(c.ClientID) == "" {
		errs = append(errs, errors.New("client_id is required (the application (client) id of the app registration)"))
	}
	var creds []string
	if c.ClientSecret != "" {
		creds = append(creds, "client_secret")
	}
	if c.CertificateFile != "" {
		creds = append(creds, "certificate_file")
	}
	if c.FederatedTokenFile != "" {
		creds = append(creds, "federated_token_file")
	}
	switch len(creds) {
	case 0:
		errs = append(errs, errors.New("set exactly one credential: client_secret, certificate_file or federated_token_file"))
	case 1:
	default:
		errs = append(errs, fmt.Errorf("set exactly one credential, found %s", strings.Join(creds, " and ")))
	}
	if c.PrivateKeyFile != "" && c.CertificateFile == "" {
		errs = append(errs, errors.New("private_key_file is only used with certificate_file"))
	}
	if c.TenantID != "" {
		if err := validateTenant(c.TenantID); err != nil {
			errs = append(errs, fmt.Errorf("tenant_id: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Validate checks a from_context source.
func (f *FromContextConfig) Validate() error {
	if f.Header != "" && !headerName.MatchString(f.Header) {
		return fmt.Errorf("header %q is not a valid header or metadata key", f.Header)
	}
	return nil
}

func (f *FromContextConfig) header() string {
	if f == nil || f.Header == "" {
		return DefaultHeader
	}
	return f.Header
}

var (
	headerName = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_|~-]+$`)
	tenantName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*$`)
)

// validateTenant accepts a tenant id (a GUID) or a tenant domain name, not
// the multi-tenant aliases, which cannot issue app-only tokens.
func validateTenant(t string) error {
	switch {
	case !tenantName.MatchString(t):
		return fmt.Errorf("%q is not a tenant id or domain name", t)
	case strings.EqualFold(t, "common"), strings.EqualFold(t, "organizations"), strings.EqualFold(t, "consumers"):
		return fmt.Errorf("%q is not a specific tenant; use the tenant id", t)
	}
	return nil
}

func validateAuthority(a string) error {
	if a == "" {
		return fmt.Errorf("authority must not be empty; the default is %s", DefaultAuthority)
	}
	u, err := url.Parse(a)
	if err != nil {
		return fmt.Errorf("authority %q is not a URL: %w", a, err)
	}
	switch {
	case u.Host == "":
		return fmt.Errorf("authority %q has no host; write it like %s", a, DefaultAuthority)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return fmt.Errorf("authority %q: http is only allowed to a loopback host (tests); use https", a)
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("authority %q must be an https URL", a)
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("authority %q must be the host alone, like %s: the tenant is added per request (pin it with tenant_id)", a, DefaultAuthority)
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
