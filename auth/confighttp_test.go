package auth

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"

	"github.com/agent365-otel/agent365exporter/auth/internal/metadata"
)

type extHost struct {
	component.Host
	exts map[component.ID]component.Component
}

func (h extHost) GetExtensions() map[component.ID]component.Component { return h.exts }

// TestThroughConfighttp wires the extension the way the exporter does:
// auth: {authenticator: agent365auth} in its HTTP client settings.
func TestThroughConfighttp(t *testing.T) {
	for _, compression := range []configcompression.Type{"", configcompression.TypeGzip} {
		t.Run("compression="+string(compression), func(t *testing.T) { testThroughConfighttp(t, compression) })
	}
}

func testThroughConfighttp(t *testing.T, compression configcompression.Type) {
	f := newFakeEntra(t)
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))
	svc := newFakeA365(t, 1)

	id := component.NewID(metadata.Type)
	cc := confighttp.NewDefaultClientConfig()
	cc.Endpoint = svc.srv.URL
	cc.Compression = compression
	cc.Auth = configoptional.Some(configauth.Config{AuthenticatorID: id})
	host := extHost{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{id: a}}
	client, err := cc.ToClient(context.Background(), host.GetExtensions(), componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
	defer client.CloseIdleConnections()

	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, a365URL(svc.srv.URL, testTenant, testAgent), strings.NewReader(`{"resourceSpans":[]}`))
	require.NoError(t, err)
	req.Header.Set(TenantHeader, testTenant)
	resp, err := client.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	auths, bodies := svc.seen()
	issued := f.issuedTokens()
	require.Len(t, issued, 2)
	assert.Equal(t, []string{"Bearer " + issued[0], "Bearer " + issued[1]}, auths)
	assert.Equal(t, bodies[0], bodies[1], "the body is replayed")
}
