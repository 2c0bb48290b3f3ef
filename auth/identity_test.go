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
		ctx    *Identity
		want   Identity
		ok     bool
	}{
		{"context wins", "https://h/observability/tenants/x/otlp/agents/y/traces", "z", &Identity{tenant, agent}, Identity{tenant, agent}, true},
		{"header and current path", "https://h/observability/tenants/" + tenant + "/otlp/agents/" + agent + "/traces?api-version=1", tenant, nil, Identity{tenant, agent}, true},
		{"tenant from current path", "https://h/observabilityService/tenants/" + tenant + "/otlp/agents/" + agent + "/traces", "", nil, Identity{tenant, agent}, true},
		{"legacy path needs the header", "https://il-x.tenant.api.powerplatform.com/maven/agent365/service/agents/" + agent + "/traces", tenant, nil, Identity{tenant, agent}, true},
		{"legacy path without header", "https://il-x/maven/agent365/agents/" + agent + "/traces", "", nil, Identity{AgentID: agent}, false},
		{"escaped agent segment", "https://h/observability/tenants/t/otlp/agents/a%7Eb/traces", "", nil, Identity{"t", "a~b"}, true},
		{"agents segment not followed by traces", "https://h/agents/a/other", "t", nil, Identity{TenantID: "t"}, false},
		{"unrelated URL", "https://h/v1/traces", "", nil, Identity{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = ContextWithIdentity(ctx, *tt.ctx)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, tt.url, nil)
			require.NoError(t, err)
			if tt.header != "" {
				req.Header.Set(TenantHeader, tt.header)
			}
			got, ok := IdentityFromRequest(req)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
	_, ok := IdentityFromContext(ContextWithIdentity(context.Background(), Identity{TenantID: "t"}))
	assert.False(t, ok, "an incomplete identity does not count")
}
