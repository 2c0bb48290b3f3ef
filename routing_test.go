package agent365exporter

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/agent365-otel/agent365exporter/internal/discovery"
)

// connectProxy tunnels every CONNECT to target and records the host asked for.
type connectProxy struct {
	*httptest.Server
	target string
	mu     sync.Mutex
	hosts  []string
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newConnectProxy(t *testing.T, target string) *connectProxy {
	p := &connectProxy{target: target}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		p.mu.Lock()
		p.hosts = append(p.hosts, r.Host)
		p.mu.Unlock()
		upstream, err := net.Dial("tcp", p.target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			upstream.Close()
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, conn, upstream)
		p.mu.Unlock()
		_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		p.wg.Add(2)
		pipe := func(dst net.Conn, src io.Reader) {
			defer p.wg.Done()
			_, _ = io.Copy(dst, src)
			conn.Close()
			upstream.Close()
		}
		go pipe(upstream, bufio.NewReader(buf))
		go pipe(conn, upstream)
	}))
	t.Cleanup(func() {
		p.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func TestTenantIslandRoutes(t *testing.T) {
	for _, s2s := range []bool{false, true} {
		svc := newFakeService(t)
		tlsSvc := httptest.NewUnstartedServer(svc.Config.Handler)
		tlsSvc.StartTLS()
		t.Cleanup(tlsSvc.Close)
		proxy := newConnectProxy(t, tlsSvc.Listener.Addr().String())

		h := newHarness(t, "", func(c *Config) {
			c.EndpointDiscovery = discovery.ModeTenantIsland
			c.ClusterCategory = "prod"
			c.UseS2SEndpoint = s2s
			c.ClientConfig.ProxyURL = proxy.URL
			c.ClientConfig.TLS.InsecureSkipVerify = true
		})
		td := newTraces().
			span("chat", "chat", tenantA, agent1, nil).
			span("bad tenant", "chat", "{braces}", agent1, nil).
			build()
		require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))

		wantPath := "/maven/agent365/agents/" + agent1 + "/traces"
		if s2s {
			wantPath = "/maven/agent365/service/agents/" + agent1 + "/traces"
		}
		assert.Equal(t, map[string][]string{wantPath: {"chat"}}, svc.byPath())
		assert.Equal(t, "api-version=1", svc.received()[0].Query)
		assert.Equal(t, []string{"il-e3064512cc6d4703be71a2ecaecaa9.8a.tenant.api.powerplatform.com:443"}, proxy.hosts)
		assert.Equal(t, int64(1), h.dropped(t, "invalid_tenant_id"))
	}
}

func TestTenantIslandDiscoveryFailureDropsGroup(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, func(c *Config) {
		c.EndpointDiscovery = discovery.ModeTenantIsland
		c.ClusterCategory = "prod"
	})
	// "ab" passes the id rules but is too short for a prod island host.
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), newTraces().span("chat", "chat", "ab", agent1, nil).build()))
	assert.Empty(t, svc.received())
	assert.Equal(t, int64(1), h.dropped(t, "tenant_discovery_failed"))
	assert.Equal(t, 1, h.logs.FilterMessageSnippet("cannot be resolved").Len())
}

func TestGlobalS2SRoute(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL+"/prefix/", func(c *Config) { c.UseS2SEndpoint = true })
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), newTraces().span("chat", "chat", tenantA, agent1, nil).build()))
	assert.Equal(t, map[string][]string{
		"/prefix/observabilityService/tenants/" + tenantA + "/otlp/agents/" + agent1 + "/traces": {"chat"},
	}, svc.byPath())
}

func TestLifecycleWithQueueAndRetry(t *testing.T) {
	svc := newFakeService(t)
	var mu sync.Mutex
	failures := 2
	svc.setRespond(func(*http.Request, []byte) (int, http.Header, string) {
		mu.Lock()
		defer mu.Unlock()
		if failures > 0 {
			failures--
			return 503, nil, "warming up"
		}
		return 200, nil, okBody
	})
	h := newHarness(t, svc.URL, func(c *Config) {
		c.QueueConfig = configoptional.Some(exporterhelper.NewDefaultQueueConfig())
		c.RetryConfig.Enabled = true
		c.RetryConfig.InitialInterval = 10 * time.Millisecond
		c.RetryConfig.MaxInterval = 20 * time.Millisecond
	})
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), newTraces().span("chat", "chat", tenantA, agent1, nil).build()))
	require.Eventually(t, func() bool { return len(svc.received()) == 1 }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, map[string][]string{globalPath(tenantA, agent1): {"chat"}}, svc.byPath())
}

func (a *testAuth) identities() []identity {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]identity(nil), a.seen...)
}

// TestAllowLists: spans of tenants and agents the gateway does not serve
// are dropped, with their reason, before any token is asked for them.
func TestAllowLists(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, func(c *Config) {
		c.Identity.AllowedTenants = []string{strings.ToUpper(tenantA)} // tenant ids match ignoring case
		c.Identity.AllowedAgents = []string{agent1}
	})
	td := newTraces().
		span("allowed", "chat", tenantA, agent1, nil).
		span("other tenant", "chat", tenantB, agent1, nil).
		span("other agent", "chat", tenantA, agent2, nil).
		span("neither", "chat", tenantB, agent2, nil).
		span("agent in other case", "chat", tenantA, strings.ToUpper(agent1), nil).
		resource(map[string]any{"microsoft.tenant.id": tenantB}).
		span("tenant from the resource", "chat", "", agent1, nil).
		build()
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))

	assert.Equal(t, map[string][]string{globalPath(tenantA, agent1): {"allowed"}}, svc.byPath())
	assert.Equal(t, int64(3), h.dropped(t, "tenant_not_allowed"))
	assert.Equal(t, int64(2), h.dropped(t, "agent_not_allowed"))
	assert.Equal(t, []identity{{tenant: tenantA, agent: agent1}}, h.auth.identities(), "only the allowed identity reaches the token source")

	// A batch of only foreign spans sends nothing and asks for no token.
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), newTraces().span("foreign", "chat", tenantB, agent2, nil).build()))
	assert.Len(t, svc.received(), 1)
	assert.Len(t, h.auth.identities(), 1)
	assert.Equal(t, int64(4), h.dropped(t, "tenant_not_allowed"))
}

func TestResolveAllowLists(t *testing.T) {
	tests := []struct {
		name           string
		tenants        []string
		agents         []string
		defTenant      string
		span, resource map[string]any
		want           identity
		wantReason     string // empty: kept
	}{
		{name: "no lists", span: map[string]any{"microsoft.tenant.id": tenantB, "gen_ai.agent.id": agent2}, want: identity{tenantB, agent2}},
		{name: "listed", tenants: []string{tenantA}, agents: []string{agent1}, span: map[string]any{"microsoft.tenant.id": tenantA, "gen_ai.agent.id": agent1}, want: identity{tenantA, agent1}},
		{name: "tenant in another case", tenants: []string{tenantA}, span: map[string]any{"microsoft.tenant.id": strings.ToUpper(tenantA), "gen_ai.agent.id": agent1}, want: identity{strings.ToUpper(tenantA), agent1}},
		{name: "tenant with spaces around", tenants: []string{tenantA}, span: map[string]any{"microsoft.tenant.id": " " + tenantA + " ", "gen_ai.agent.id": agent1}, want: identity{tenantA, agent1}},
		{name: "tenant not listed", tenants: []string{tenantA}, span: map[string]any{"microsoft.tenant.id": tenantB, "gen_ai.agent.id": agent1}, wantReason: "tenant_not_allowed"},
		{name: "agent not listed", agents: []string{agent1}, span: map[string]any{"microsoft.tenant.id": tenantB, "gen_ai.agent.id": agent2}, wantReason: "agent_not_allowed"},
		{name: "agents match exactly", agents: []string{agent1}, span: map[string]any{"microsoft.tenant.id": tenantB, "gen_ai.agent.id": strings.ToUpper(agent1)}, wantReason: "agent_not_allowed"},
		{name: "legacy tenant key", tenants: []string{tenantA}, span: map[string]any{"tenant.id": tenantB, "gen_ai.agent.id": agent1}, wantReason: "tenant_not_allowed"},
		{name: "tenant from the resource", tenants: []string{tenantA}, span: map[string]any{"gen_ai.agent.id": agent1}, resource: map[string]any{"microsoft.tenant.id": tenantB}, wantReason: "tenant_not_allowed"},
		{name: "tenant from the defaults", tenants: []string{tenantA}, defTenant: tenantA, span: map[string]any{"gen_ai.agent.id": agent1}, want: identity{tenantA, agent1}},
		{name: "invalid before not allowed", tenants: []string{tenantA}, span: map[string]any{"microsoft.tenant.id": "a/b", "gen_ai.agent.id": agent1}, wantReason: "invalid_tenant_id"},
		{name: "missing before not allowed", agents: []string{agent1}, span: map[string]any{"microsoft.tenant.id": tenantA}, wantReason: "missing_agent_id"},
		{name: "tenant decides before the agent", tenants: []string{tenantA}, agents: []string{agent1}, span: map[string]any{"microsoft.tenant.id": tenantB, "gen_ai.agent.id": agent2}, wantReason: "tenant_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig().(*Config)
			cfg.Identity.AllowedTenants, cfg.Identity.AllowedAgents = tt.tenants, tt.agents
			cfg.Identity.DefaultTenantID = tt.defTenant
			require.NoError(t, confmap.Validate(cfg))
			c := newIdentityResolver(cfg)
			attrs := pcommon.NewMap()
			require.NoError(t, attrs.FromRaw(tt.span))
			attrs.PutStr("gen_ai.operation.name", "chat")
			res := pcommon.NewMap()
			require.NoError(t, res.FromRaw(tt.resource))
			got := c.resolve(attrs, c.resource(res), nil, &idCache{})
			id, reason, ok := got.id, got.drop, got.ok
			if tt.wantReason != "" {
				require.False(t, ok, "kept as %+v", id)
				assert.Equal(t, tt.wantReason, reason.String())
				return
			}
			require.True(t, ok, "dropped: %s", reason)
			assert.Equal(t, tt.want, id)
		})
	}
}

// TestIdentityOfIntType: an int identity attribute is used as its decimal
// string, as Microsoft's SDKs do, and is sent as that string; other
// non-string types are dropped as invalid.
func TestIdentityOfIntType(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, nil)
	td := newTraces().
		span("int tenant", "chat", "", agent1, map[string]any{"microsoft.tenant.id": 424242}).
		span("int agent", "chat", tenantA, "", map[string]any{"gen_ai.agent.id": int64(-7)}).
		span("double tenant", "chat", "", agent1, map[string]any{"microsoft.tenant.id": 424242.0}).
		span("bool agent", "chat", tenantA, "", map[string]any{"gen_ai.agent.id": true}).
		span("list tenant", "chat", "", agent1, map[string]any{"microsoft.tenant.id": []any{"a"}}).
		resource(map[string]any{"microsoft.tenant.id": 1234}).
		span("int tenant on the resource", "chat", "", agent2, nil).
		build()
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))

	assert.Equal(t, map[string][]string{
		globalPath("424242", agent1): {"int tenant"},
		globalPath(tenantA, "-7"):    {"int agent"},
		globalPath("1234", agent2):   {"int tenant on the resource"},
	}, svc.byPath())
	assert.Equal(t, int64(2), h.dropped(t, "invalid_tenant_id"))
	assert.Equal(t, int64(1), h.dropped(t, "invalid_agent_id"))
	wire := map[string]map[string]any{}
	for _, r := range svc.received() {
		for _, rs := range r.Payload.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					wire[s.Name] = s.Attributes
				}
			}
		}
	}
	// The service's contract types the identity keys as strings.
	assert.Equal(t, "424242", wire["int tenant"]["microsoft.tenant.id"])
	assert.Equal(t, "-7", wire["int agent"]["gen_ai.agent.id"])
	assert.Equal(t, "1234", wire["int tenant on the resource"]["microsoft.tenant.id"])
}
