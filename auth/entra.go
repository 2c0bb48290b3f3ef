package auth // import "github.com/agent365-otel/agent365exporter/auth"

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// The client_credentials and agent_blueprint flows use MSAL for Go. MSAL's
// own token cache is bypassed (noCache): the extension's cache decides when
// a token is renewed (refresh_before) or dropped (after a 401), which
// MSAL's cache does not allow.

// noCache empties MSAL's in-memory cache before each use, so that every
// MSAL call asks Entra.
type noCache struct{}

func (noCache) Replace(_ context.Context, c cache.Unmarshaler, _ cache.ReplaceHints) error {
	return c.Unmarshal([]byte("{}"))
}

func (noCache) Export(context.Context, cache.Marshaler, cache.ExportHints) error { return nil }

// msalAuthority is the authority MSAL clients are created with; the tenant
// of each request is chosen with WithTenantID. MSAL only speaks https: an
// http loopback authority (tests) is reached through loopbackHTTP.
func msalAuthority(authority, pinnedTenant string) string {
	u, _ := url.Parse(authority)
	u.Scheme = "https"
	u.Path = ""
	tenant := "organizations"
	if pinnedTenant != "" {
		tenant = pinnedTenant
	}
	return u.String() + "/" + tenant
}

// loopbackHTTP sends the requests MSAL makes to https://host as http, for
// an http authority on a loopback host.
type loopbackHTTP struct {
	host string
	base http.RoundTripper
}

func (t *loopbackHTTP) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" || !strings.EqualFold(req.URL.Host, t.host) {
		return t.base.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	req.URL.Scheme = "http"
	resp, err := t.base.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/.well-known/openid-configuration") {
		return resp, err
	}
	// MSAL checks that the issuer of the discovery document matches the
	// (https) authority: present the local server's http URLs as https.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	body = bytes.ReplaceAll(body, []byte("http://"+req.URL.Host), []byte("https://"+req.URL.Host))
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

func (t *loopbackHTTP) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// credential builds the MSAL credential of c; files are read here (at
// Start) so that a missing or bad file is reported with its path.
func credential(c *CredentialConfig, key string) (confidential.Credential, error) {
	switch {
	case c.ClientSecret != "":
		return confidential.NewCredFromSecret(string(c.ClientSecret))
	case c.CertificateFile != "":
		data, err := os.ReadFile(c.CertificateFile)
		if err != nil {
			return confidential.Credential{}, fmt.Errorf("%s::certificate_file: %w", key, err)
		}
		if c.PrivateKeyFile != "" {
			k, err := os.ReadFile(c.PrivateKeyFile)
			if err != nil {
				return confidential.Credential{}, fmt.Errorf("%s::private_key_file: %w", key, err)
			}
			data = append(append(data, '\n'), k...)
		}
		certs, priv, err := confidential.CertFromPEM(data, "")
		if err != nil {
			return confidential.Credential{}, fmt.Errorf("%s: certificate %s: %w (the file must hold the PEM certificate and its unencrypted RSA key, or the key must be in private_key_file)", key, certFiles(c), err)
		}
		cred, err := confidential.NewCredFromCert(certs, priv)
		if err != nil {
			return confidential.Credential{}, fmt.Errorf("%s: certificate %s: %w", key, certFiles(c), err)
		}
		return cred, nil
	case c.FederatedTokenFile != "":
		path := c.FederatedTokenFile
		if _, err := readAssertion(path); err != nil {
			return confidential.Credential{}, fmt.Errorf("%s::federated_token_file: %w", key, err)
		}
		return confidential.NewCredFromAssertionCallback(func(context.Context, confidential.AssertionRequestOptions) (string, error) {
			return readAssertion(path)
		}), nil
	}
	return confidential.Credential{}, fmt.Errorf("%s: no credential", key)
}

func certFiles(c *CredentialConfig) string {
	if c.PrivateKeyFile != "" {
		return c.CertificateFile + " with key " + c.PrivateKeyFile
	}
	return c.CertificateFile
}

// readAssertion reads a federated token file; it is read for every token
// request because workload identity rotates it.
func readAssertion(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("federated token file %s is empty", path)
	}
	return v, nil
}

func newConfidential(authority, pinnedTenant, clientID string, cred confidential.Credential, hc *http.Client) (confidential.Client, error) {
	return confidential.New(msalAuthority(authority, pinnedTenant), clientID, cred,
		confidential.WithHTTPClient(hc),
		confidential.WithInstanceDiscovery(false),
		confidential.WithCache(noCache{}))
}

// describe turns an MSAL error into an EntraError, or scrubs it.
func describe(err error, secrets ...string) error {
	var re *redirectError
	if errors.As(err, &re) {
		return errors.New(scrub(re.Error(), secrets...))
	}
	if ee := entraErrorFrom(err, secrets...); ee != nil {
		return ee
	}
	return scrubError(err, secrets...)
}

// requestTenant is the tenant a token is requested in.
func requestTenant(pinned string, id Identity) (string, error) {
	if pinned != "" {
		return pinned, nil
	}
	if err := validateTenant(id.TenantID); err != nil {
		return "", fmt.Errorf("agent365auth: tenant of the request: %w", err)
	}
	return id.TenantID, nil
}

// maxTenantsPerClient is how many tenants one MSAL client serves before
// it is replaced: MSAL remembers the endpoints of every tenant it was used
// for, without bound.
const maxTenantsPerClient = 4096

// tenantClients is the MSAL client of one app for requests in many
// tenants, replaced by a new one after limit tenants.
type tenantClients struct {
	build func() (confidential.Client, error)
	limit int

	mu      sync.Mutex
	client  confidential.Client
	tenants map[string]struct{}
}

// appClients are the MSAL clients of the app cfg configures, with its
// credential; key names the configuration section in errors.
func appClients(cfg *CredentialConfig, key, authority string, hc *http.Client) (*tenantClients, error) {
	cred, err := credential(cfg, key)
	if err != nil {
		return nil, err
	}
	build := func() (confidential.Client, error) {
		return newConfidential(authority, cfg.TenantID, cfg.ClientID, cred, hc)
	}
	c, err := build()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return &tenantClients{build: build, limit: maxTenantsPerClient, client: c, tenants: map[string]struct{}{}}, nil
}

// forTenant is the client to request a token in tenant with.
func (t *tenantClients) forTenant(tenant string) (confidential.Client, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.tenants[tenant]; !ok && len(t.tenants) >= t.limit {
		c, err := t.build()
		if err != nil {
			return confidential.Client{}, err
		}
		t.client = c
		clear(t.tenants)
	}
	t.tenants[tenant] = struct{}{}
	return t.client, nil
}

// clientCredentialsSource is the client credentials flow of one app.
type clientCredentialsSource struct {
	redact    func() []string // every secret of the extension
	authority string
	cfg       CredentialConfig
	scopes    []string
	clients   *tenantClients
}

func newClientCredentialsSource(cfg *CredentialConfig, key, authority string, scopes []string, hc *http.Client, redact func() []string) (*clientCredentialsSource, error) {
	c, err := appClients(cfg, key, authority, hc)
	if err != nil {
		return nil, err
	}
	return &clientCredentialsSource{redact: redact, authority: authority, cfg: *cfg, scopes: scopes, clients: c}, nil
}

func (s *clientCredentialsSource) kind() string      { return sourceClientCredentials }
func (s *clientCredentialsSource) secrets() []string { return []string{string(s.cfg.ClientSecret)} }

func (s *clientCredentialsSource) key(id Identity) (cacheKey, error) {
	tenant, err := requestTenant(s.cfg.TenantID, id)
	return cacheKey{authority: s.authority, tenant: tenant, client: s.cfg.ClientID, scope: s.scopes[0]}, err
}

func (s *clientCredentialsSource) fetch(ctx context.Context, id Identity) (token, error) {
	tenant, err := requestTenant(s.cfg.TenantID, id)
	if err != nil {
		return token{}, err
	}
	c, err := s.clients.forTenant(tenant)
	if err != nil {
		return token{}, fmt.Errorf("agent365auth: client_credentials (client_id %s): %w", s.cfg.ClientID, err)
	}
	res, err := c.AcquireTokenByCredential(ctx, s.scopes, confidential.WithTenantID(tenant))
	if err != nil {
		return token{}, fmt.Errorf("agent365auth: client_credentials (client_id %s, tenant %s): %w", s.cfg.ClientID, tenant, describe(err, s.redact()...))
	}
	return token{value: res.AccessToken, expiresOn: res.ExpiresOn}, nil
}

// blueprintSource is the two-hop flow of an agent identity blueprint:
// hop 1, the blueprint's client credentials with fmi_path=<agent id> for
// api://AzureADTokenExchange/.default, gives T1; hop 2, client credentials
// of the agent (client_id = agent id) with T1 as client assertion, gives
// the export token.
type blueprintSource struct {
	redact    func() []string // every secret of the extension
	authority string
	cfg       CredentialConfig
	scopes    []string
	hc        *http.Client
	blueprint *tenantClients

	mu     sync.Mutex
	agents map[agentTenant]confidential.Client
}

// agentTenant is an agent in a tenant. Hop 2 has an MSAL client per agent
// and tenant, so that each remembers the endpoints of one tenant.
type agentTenant struct{ agent, tenant string }

// maxAgentClients bounds the MSAL clients kept for hop 2.
const maxAgentClients = 4096

type hopTenantKey struct{}

// hop1Error is a failure of hop 1, raised inside hop 2's assertion callback.
type hop1Error struct{ err error }

func (e *hop1Error) Error() string { return e.err.Error() }
func (e *hop1Error) Unwrap() error { return e.err }

func newBlueprintSource(cfg *CredentialConfig, key, authority string, scopes []string, hc *http.Client, redact func() []string) (*blueprintSource, error) {
	c, err := appClients(cfg, key, authority, hc)
	if err != nil {
		return nil, err
	}
	return &blueprintSource{redact: redact, authority: authority, cfg: *cfg, scopes: scopes, hc: hc, blueprint: c, agents: map[agentTenant]confidential.Client{}}, nil
}

func (s *blueprintSource) kind() string      { return sourceAgentBlueprint }
func (s *blueprintSource) secrets() []string { return []string{string(s.cfg.ClientSecret)} }

func (s *blueprintSource) key(id Identity) (cacheKey, error) {
	tenant, err := requestTenant(s.cfg.TenantID, id)
	return cacheKey{authority: s.authority, tenant: tenant, client: s.cfg.ClientID, scope: s.scopes[0], agent: strings.ToLower(id.AgentID)}, err
}

// agentClient is the hop 2 client of agent in tenant; its credential is hop 1.
func (s *blueprintSource) agentClient(agent, tenant string) (confidential.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := agentTenant{agent: agent, tenant: tenant}
	if c, ok := s.agents[key]; ok {
		return c, nil
	}
	c, err := newConfidential(s.authority, s.cfg.TenantID, agent, confidential.NewCredFromAssertionCallback(s.hop1), s.hc)
	if err != nil {
		return confidential.Client{}, err
	}
	if len(s.agents) >= maxAgentClients {
		clear(s.agents)
	}
	s.agents[key] = c
	return c, nil
}

// hop1 gets T1 for the agent MSAL asks an assertion for.
func (s *blueprintSource) hop1(ctx context.Context, o confidential.AssertionRequestOptions) (string, error) {
	tenant, _ := ctx.Value(hopTenantKey{}).(string)
	c, err := s.blueprint.forTenant(tenant)
	if err != nil {
		return "", &hop1Error{err: err}
	}
	res, err := c.AcquireTokenByCredential(ctx, []string{tokenExchangeScope},
		confidential.WithTenantID(tenant), confidential.WithFMIPath(o.ClientID))
	if err != nil {
		return "", &hop1Error{err: describe(err, s.redact()...)}
	}
	return res.AccessToken, nil
}

func (s *blueprintSource) fetch(ctx context.Context, id Identity) (token, error) {
	tenant, err := requestTenant(s.cfg.TenantID, id)
	if err != nil {
		return token{}, err
	}
	if strings.TrimSpace(id.AgentID) != id.AgentID || strings.ContainsAny(id.AgentID, "/?#\x00") {
		return token{}, fmt.Errorf("agent365auth: agent_blueprint: %q is not an agent id", id.AgentID)
	}
	c, err := s.agentClient(id.AgentID, tenant)
	if err != nil {
		return token{}, fmt.Errorf("agent365auth: agent_blueprint: agent %s: %w", id.AgentID, err)
	}
	res, err := c.AcquireTokenByCredential(context.WithValue(ctx, hopTenantKey{}, tenant), s.scopes, confidential.WithTenantID(tenant))
	if err != nil {
		var h1 *hop1Error
		if errors.As(err, &h1) {
			return token{}, fmt.Errorf("agent365auth: agent_blueprint hop 1 (blueprint client_id %s, fmi_path %s, tenant %s): %w", s.cfg.ClientID, id.AgentID, tenant, h1.err)
		}
		return token{}, fmt.Errorf("agent365auth: agent_blueprint hop 2 (agent %s with the blueprint's token as client assertion, tenant %s): %w", id.AgentID, tenant, describe(err, s.redact()...))
	}
	return token{value: res.AccessToken, expiresOn: res.ExpiresOn}, nil
}
