package auth

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIdentityFromRequest(t *testing.T) {
	const tenant, agent = "e3064512-cc6d-4703-be71-a2ecaecaa98a", "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"
	tests := []struct {
		name   string
		url    string
		header string
		want   Identity
		ok     bool
	}{
		{"header wins over the path", "https://h/observability/tenants/x/otlp/agents/" + agent + "/traces", tenant, Identity{tenant, agent}, true},
		{"header and current path", "https://h/observability/tenants/" + tenant + "/otlp/agents/" + agent + "/traces?api-version=1", tenant, Identity{tenant, agent}, true},
		{"tenant from current path", "https://h/observabilityService/tenants/" + tenant + "/otlp/agents/" + agent + "/traces", "", Identity{tenant, agent}, true},
		{"legacy path needs the header", "https://il-x.tenant.api.powerplatform.com/maven/agent365/service/agents/" + agent + "/traces", tenant, Identity{tenant, agent}, true},
		{"legacy path without header", "https://il-x/maven/agent365/agents/" + agent + "/traces", "", Identity{AgentID: agent}, false},
		{"escaped agent segment", "https://h/observability/tenants/t/otlp/agents/a%7Eb/traces", "", Identity{"t", "a~b"}, true},
		{"agents segment not followed by traces", "https://h/agents/a/other", "t", Identity{TenantID: "t"}, false},
		{"unrelated URL", "https://h/v1/traces", "", Identity{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, tt.url, nil)
			require.NoError(t, err)
			if tt.header != "" {
				req.Header.Set(TenantHeader, tt.header)
			}
			got, ok := IdentityFromRequest(req)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}
