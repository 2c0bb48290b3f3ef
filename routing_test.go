package agent365exporter

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

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
