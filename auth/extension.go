package auth // import "github.com/agent365-otel/agent365exporter/auth"

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/agent365-otel/agent365exporter/auth/internal/metadata"
)

// Token sources, as named in the configuration and in the metrics.
const (
	sourceStatic            = "static"
	sourceClientCredentials = "client_credentials"
	sourceManagedIdentity   = "managed_identity"
	sourceAgentBlueprint    = "agent_blueprint"
	sourceFromContext       = "from_context"
)

// acquireTimeout bounds one token acquisition (MSAL's managed identity
// client retries inside it).
const acquireTimeout = time.Minute

// TokenProvider is what the extension offers to other components besides
// its round tripper: find it with host.GetExtensions()[id] and a type
// assertion.
type TokenProvider interface {
	// Token returns the access token for the agent in the tenant.
	Token(ctx context.Context, tenantID, agentID string) (string, error)
	// Invalidate forgets token, which the service refused with 401, so
	// that the next Token call gets a new one.
	Invalidate(tenantID, agentID, token string)
}

var (
	_ extension.Extension      = (*Authenticator)(nil)
	_ extensionauth.HTTPClient = (*Authenticator)(nil)
	_ TokenProvider            = (*Authenticator)(nil)
)

// source hands out tokens for identities.
type source interface {
	kind() string
	// secrets are values to scrub from its errors.
	secrets() []string
}

// directSource makes its token on each call (static, from_context);
// fresh reports a newly obtained token.
type directSource interface {
	source
	token(ctx context.Context, id Identity) (tok token, fresh bool, err error)
}

// cachedSource requests tokens, which are cached per key.
type cachedSource interface {
	source
	key(id Identity) (cacheKey, error)
	fetch(ctx context.Context, id Identity) (token, error)
}

// Authenticator is the agent365auth extension: an HTTP client
// authenticator for the agent365 exporter that puts the token of each
// request's (tenant, agent) in its Authorization header.
type Authenticator struct {
	cfg        *Config
	logger     *zap.Logger
	telemetry  *metadata.TelemetryBuilder
	now        func() time.Time
	jitter     func(time.Duration) time.Duration // of failure backoffs; nil for random
	httpClient *http.Client                      // for token requests; built in Start unless set by a test
	ownClient  bool

	state atomic.Pointer[state]
	// built is the last state Start built; it outlives Shutdown so that
	// errors of fetches still ending are scrubbed.
	built atomic.Pointer[state]

	outcomes map[string][2]metric.AddOption // source -> {success, failure}
}

// state is what Start builds and Shutdown tears down.
type state struct {
	top    source
	agents map[string]source // by lower-case agent id
	cache  *tokenCache
}

type option func(*Authenticator)

// withHTTPClient sets the client of token requests (tests).
func withHTTPClient(c *http.Client) option { return func(a *Authenticator) { a.httpClient = c } }

// withClock sets the clock of expiry decisions (tests).
func withClock(now func() time.Time) option { return func(a *Authenticator) { a.now = now } }

// withJitter sets how failure backoffs are spread (tests).
func withJitter(j func(time.Duration) time.Duration) option {
	return func(a *Authenticator) { a.jitter = j }
}

func newAuthenticator(cfg *Config, set extension.Settings, opts ...option) (*Authenticator, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	a := &Authenticator{cfg: cfg, logger: set.Logger, telemetry: tb, now: time.Now, outcomes: map[string][2]metric.AddOption{}}
	if a.logger == nil {
		a.logger = zap.NewNop()
	}
	for _, s := range []string{sourceStatic, sourceClientCredentials, sourceManagedIdentity, sourceAgentBlueprint, sourceFromContext} {
		a.outcomes[s] = [2]metric.AddOption{
			metric.WithAttributeSet(attribute.NewSet(attribute.String("source", s), attribute.String("outcome", "success"))),
			metric.WithAttributeSet(attribute.NewSet(attribute.String("source", s), attribute.String("outcome", "failure"))),
		}
	}
	for _, o := range opts {
		o(a)
	}
	return a, nil
}

// Start reads the credentials (certificate, key and token files are
// checked here) and creates the token clients.
func (a *Authenticator) Start(context.Context, component.Host) error {
	if a.httpClient == nil {
		a.httpClient = &http.Client{Transport: newTransport(), Timeout: tokenRequestTimeout}
		a.ownClient = true
	}
	hc := tokenClient(a.httpClient, a.cfg.Authority)
	st := &state{agents: map[string]source{}, cache: newTokenCache(cacheSettings{
		now:           a.now,
		refreshBefore: a.cfg.RefreshBefore,
		timeout:       acquireTimeout,
		maxEntries:    a.cfg.MaxCachedTokens,
		jitter:        a.jitter,
		onEvict:       func() { a.telemetry.Agent365authCacheEvictions.Add(context.Background(), 1) },
	})}
	var errs []error
	if s, err := a.newSource("", a.cfg.topLevel(), hc); err != nil {
		errs = append(errs, err)
	} else {
		st.top = s
	}
	for id, ac := range a.cfg.Agents {
		s, err := a.newSource("agents::"+id+"::", &ac, hc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		st.agents[strings.ToLower(id)] = s
	}
	if err := errors.Join(errs...); err != nil {
		st.cache.close()
		return fmt.Errorf("agent365auth: %w", err)
	}
	a.built.Store(st)
	a.state.Store(st)
	return nil
}

// newSource builds the one configured source of an entry (nil for none).
func (a *Authenticator) newSource(prefix string, ac *AgentConfig, hc *http.Client) (source, error) {
	switch {
	case ac.Static != nil:
		src, err := newStaticSource(ac.Static, a.now)
		if err != nil {
			return nil, fmt.Errorf("%s%w", prefix, err)
		}
		return src, nil
	case ac.ClientCredentials != nil:
		return newClientCredentialsSource(&ac.ClientCredentials.CredentialConfig, prefix+sourceClientCredentials, a.cfg.Authority, a.cfg.Scopes, hc, a.secrets)
	case ac.ManagedIdentity != nil:
		return newManagedIdentitySource(ac.ManagedIdentity, prefix+sourceManagedIdentity, a.cfg.Scopes, hc, a.secrets)
	case ac.AgentBlueprint != nil:
		return newBlueprintSource(&ac.AgentBlueprint.CredentialConfig, prefix+sourceAgentBlueprint, a.cfg.Authority, a.cfg.Scopes, hc, a.secrets)
	case ac.FromContext != nil:
		return &fromContextSource{header: ac.FromContext.header(), now: a.now}, nil
	}
	return nil, nil
}

// Shutdown stops token requests under way and forgets all tokens.
func (a *Authenticator) Shutdown(context.Context) error {
	if st := a.state.Swap(nil); st != nil {
		st.cache.close()
	}
	if a.ownClient && a.httpClient != nil {
		a.httpClient.CloseIdleConnections()
	}
	return nil
}

// RoundTripper wraps base so that each request gets the token of its
// identity (see IdentityFromRequest).
func (a *Authenticator) RoundTripper(base http.RoundTripper) (http.RoundTripper, error) {
	if base == nil {
		base = http.DefaultTransport
	}
	return &roundTripper{base: base, auth: a}, nil
}

// Token returns the access token for agentID in tenantID, from the
// agent's entry under agents or else from the top-level source.
func (a *Authenticator) Token(ctx context.Context, tenantID, agentID string) (string, error) {
	tok, err := a.token(ctx, Identity{TenantID: tenantID, AgentID: agentID})
	return tok.value, err
}

// Invalidate forgets token for the identity so that the next Token call
// obtains a new one. Tokens from from_context or an inline static token
// cannot be renewed.
func (a *Authenticator) Invalidate(tenantID, agentID, tok string) {
	st := a.state.Load()
	if st == nil {
		return
	}
	id := Identity{TenantID: tenantID, AgentID: agentID}
	switch s := st.sourceFor(id.AgentID).(type) {
	case cachedSource:
		if key, err := s.key(id); err == nil {
			st.cache.drop(key, tok)
		}
	case *staticSource:
		s.invalidate()
	}
}

// secrets are the configured secrets and static tokens, to be kept out of
// errors and logs.
func (a *Authenticator) secrets() []string {
	st := a.built.Load()
	if st == nil {
		return nil
	}
	var out []string
	add := func(s source) {
		if s != nil {
			out = append(out, s.secrets()...)
		}
	}
	add(st.top)
	for _, s := range st.agents {
		add(s)
	}
	return out
}

// fromContext reports whether the agent's token is its own, from the
// request's client metadata.
func (a *Authenticator) fromContext(agent string) bool {
	st := a.state.Load()
	return st != nil && st.sourceFor(agent) != nil && st.sourceFor(agent).kind() == sourceFromContext
}

func (st *state) sourceFor(agent string) source {
	if s, ok := st.agents[strings.ToLower(agent)]; ok {
		return s
	}
	return st.top
}

func (a *Authenticator) token(ctx context.Context, id Identity) (token, error) {
	st := a.state.Load()
	if st == nil {
		return token{}, errors.New("agent365auth: the extension is not started")
	}
	if strings.TrimSpace(id.TenantID) == "" || strings.TrimSpace(id.AgentID) == "" {
		return token{}, fmt.Errorf("agent365auth: a token needs a tenant id and an agent id, got tenant %q and agent %q", id.TenantID, id.AgentID)
	}
	src := st.sourceFor(id.AgentID)
	switch s := src.(type) {
	case directSource:
		tok, fresh, err := s.token(ctx, id)
		if err != nil {
			a.acquired(ctx, s, id, token{}, err)
			return token{}, scrubError(err, a.secrets()...)
		}
		if fresh {
			a.acquired(ctx, s, id, tok, nil)
		}
		return tok, nil
	case cachedSource:
		key, err := s.key(id)
		if err != nil {
			a.acquired(ctx, s, id, token{}, err)
			return token{}, err
		}
		tok, hit, err := st.cache.get(ctx, key, func(fctx context.Context) (token, error) {
			tok, err := s.fetch(fctx, id)
			if !tok.expiresOn.IsZero() {
				// MSAL tells the expiry on the wall clock; carry it to a.now
				tok.expiresOn = a.now().Add(time.Until(tok.expiresOn))
			}
			a.acquired(fctx, s, id, tok, err)
			return tok, err
		})
		if hit {
			a.telemetry.Agent365authCacheHits.Add(ctx, 1)
		}
		return tok, err
	}
	return token{}, fmt.Errorf("agent365auth: no token source for agent %s: list it under agents, or set a top-level source", id.AgentID)
}

// acquired counts an acquisition and logs it at debug level, never with
// the token.
func (a *Authenticator) acquired(ctx context.Context, s source, id Identity, tok token, err error) {
	o := a.outcomes[s.kind()]
	if err != nil {
		a.telemetry.Agent365authTokenAcquisitions.Add(context.WithoutCancel(ctx), 1, o[1])
		if ce := a.logger.Check(zap.DebugLevel, "agent365auth: token acquisition failed"); ce != nil {
			ce.Write(zap.String("source", s.kind()), zap.String("tenant", id.TenantID), zap.String("agent", id.AgentID),
				zap.String("error", scrubError(err, a.secrets()...).Error()))
		}
		return
	}
	a.telemetry.Agent365authTokenAcquisitions.Add(context.WithoutCancel(ctx), 1, o[0])
	if ce := a.logger.Check(zap.DebugLevel, "agent365auth: token acquired"); ce != nil {
		fields := []zap.Field{zap.String("source", s.kind()), zap.String("tenant", id.TenantID), zap.String("agent", id.AgentID)}
		if !tok.expiresOn.IsZero() {
			fields = append(fields, zap.Time("expires_at", tok.expiresOn))
		}
		ce.Write(fields...)
	}
}
