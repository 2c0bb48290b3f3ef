package discovery

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRouterURL(t *testing.T) {
	const agent = "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"
	tests := []struct {
		name     string
		mode     Mode
		endpoint string
		category string
		s2s      bool
		want     string
	}{
		{"global", ModeGlobal, "https://agent365.svc.cloud.microsoft", "prod", false,
			"https://agent365.svc.cloud.microsoft/observability/tenants/" + vectorTenant + "/otlp/agents/" + agent + "/traces?api-version=1"},
		{"global s2s", ModeGlobal, "https://agent365.svc.cloud.microsoft", "prod", true,
			"https://agent365.svc.cloud.microsoft/observabilityService/tenants/" + vectorTenant + "/otlp/agents/" + agent + "/traces?api-version=1"},
		{"global trailing slash trimmed", ModeGlobal, "http://127.0.0.1:8080/", "", false,
			"http://127.0.0.1:8080/observability/tenants/" + vectorTenant + "/otlp/agents/" + agent + "/traces?api-version=1"},
		{"global with base path", ModeGlobal, "https://proxy.example/a365", "", false,
			"https://proxy.example/a365/observability/tenants/" + vectorTenant + "/otlp/agents/" + agent + "/traces?api-version=1"},
		{"tenant island", ModeTenantIsland, "ignored", "prod", false,
			"https://il-e3064512cc6d4703be71a2ecaecaa9.8a.tenant.api.powerplatform.com/maven/agent365/agents/" + agent + "/traces?api-version=1"},
		{"tenant island s2s", ModeTenantIsland, "ignored", "gov", true,
			"https://il-e3064512cc6d4703be71a2ecaecaa98.a.tenant.api.gov.powerplatform.microsoft.us/maven/agent365/service/agents/" + agent + "/traces?api-version=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRouter(tt.mode, tt.endpoint, tt.category, tt.s2s)
			require.NoError(t, err)
			got, err := r.URL(vectorTenant, agent)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRouterRejectsHostileIDs(t *testing.T) {
	r, err := NewRouter(ModeGlobal, "https://agent365.svc.cloud.microsoft", "", false)
	require.NoError(t, err)
	island, err := NewRouter(ModeTenantIsland, "", "prod", false)
	require.NoError(t, err)
	hostile := []string{
		"", ".", "..", "../../admin", "a/b", "a?x=1", "a#frag", "a%2Fb", "a b", "a\r\nx-evil: 1",
		"a\x00", "é", strings.Repeat("a", MaxIDLength+1), "{guid}",
	}
	for _, id := range hostile {
		_, err := r.URL(id, "agent")
		assert.ErrorIs(t, err, ErrInvalidID, "tenant %q", id)
		_, err = r.URL("tenant", id)
		assert.ErrorIs(t, err, ErrInvalidID, "agent %q", id)
		_, err = island.URL(id, "agent")
		assert.Error(t, err, "island tenant %q", id)
	}
	// Every accepted id yields a URL whose path has exactly the expected segments.
	for _, id := range []string{"a", "A-b_c.d~e", strings.Repeat("f", MaxIDLength), "..."} {
		got, err := r.URL(id, id)
		require.NoError(t, err)
		u, err := url.Parse(got)
		require.NoError(t, err)
		assert.Equal(t, "agent365.svc.cloud.microsoft", u.Host)
		assert.Equal(t, []string{"", "observability", "tenants", id, "otlp", "agents", id, "traces"}, strings.Split(u.Path, "/"))
		assert.Equal(t, "api-version=1", u.RawQuery)
	}
}

func TestNewRouterErrors(t *testing.T) {
	_, err := NewRouter("regional", "https://x", "prod", false)
	require.ErrorContains(t, err, `unknown endpoint_discovery "regional"`)
	_, err = NewRouter(ModeTenantIsland, "", "nowhere", false)
	require.ErrorContains(t, err, `unknown cluster category "nowhere"`)
}
