package auth

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
)

func TestRouteFitsTheToken(t *testing.T) {
	const (
		s2s      = "https://agent365.svc.cloud.microsoft/observabilityService/tenants/t1/otlp/agents/a1/traces?api-version=1"
		standard = "https://agent365.svc.cloud.microsoft/observability/tenants/t1/otlp/agents/a1/traces?api-version=1"
		s2sMaven = "https://il-x.tenant.api.powerplatform.com/maven/agent365/service/agents/a1/traces?api-version=1"
		stdMaven = "https://il-x.tenant.api.powerplatform.com/maven/agent365/agents/a1/traces?api-version=1"
	)
	delegated := fakeJWT(map[string]any{"appid": "a1", "scp": "Agent365.Observability.OtelWrite"})
	appOnly := fakeJWT(map[string]any{"appid": "a1", "roles": []string{"Agent365.Observability.OtelWrite"}})
	tests := []struct {
		name        string
		url, token  string
		fromContext bool
		wantURL     string
		wantErr     string
	}{
		{name: "app-only token on the S2S route", url: s2s, token: appOnly, wantURL: s2s},
		{name: "agent's own token moves to the standard route", url: s2s, token: delegated, fromContext: true, wantURL: standard},
		{name: "agent's own opaque token moves too", url: s2s, token: "opaque", fromContext: true, wantURL: standard},
		{name: "agent's own token, legacy route", url: s2sMaven, token: delegated, fromContext: true, wantURL: stdMaven},
		{name: "agent's own app-only token stays", url: s2s, token: appOnly, fromContext: true, wantURL: s2s},
		{name: "delegated token on the standard route", url: standard, token: delegated, wantURL: standard},
		{name: "delegated static token on the S2S route", url: s2s, token: delegated, wantErr: "set use_s2s_endpoint: false"},
		{name: "app-only token on the standard route", url: standard, token: appOnly, wantErr: "remove use_s2s_endpoint: false"},
		{name: "app-only token on the legacy standard route", url: stdMaven, token: appOnly, wantErr: "remove use_s2s_endpoint: false"},
		{name: "opaque token: nothing to tell", url: standard, token: "opaque", wantURL: standard},
		{name: "not an Agent 365 route", url: "https://example.com/v1/traces", token: delegated, wantURL: "https://example.com/v1/traces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, tt.url, nil)
			require.NoError(t, err)
			out, err := routeFor(req, tt.token, tt.fromContext)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.True(t, consumererror.IsPermanent(err), "a mismatch is not retried")
				assert.NotContains(t, err.Error(), tt.token, "the token never appears")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantURL, out.URL.String())
			assert.Equal(t, tt.url, req.URL.String(), "the caller's request is not changed")
		})
	}
}
