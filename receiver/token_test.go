package agent365receiver

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A JWT-shaped token, as the SDKs' token resolvers return them.
const agentToken = "eyJhbGciOiJub25lIn0.eyJzY3AiOiJBZ2VudDM2NS5PYnNlcnZhYmlsaXR5Lk90ZWxXcml0ZSJ9.c2lnbmF0dXJl"

// TestTokenAsClientMetadata: the bearer token of Authorization is handed on
// under token_metadata_key, next to the request headers, where
// agent365auth's from_context reads it; nothing when include_metadata is
// off or the scheme is not Bearer.
func TestTokenAsClientMetadata(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*Config)
		header    map[string]string
		want      map[string][]string // keys that must be there, with their values
		absent    []string
	}{
		{name: "default key",
			header: map[string]string{"Authorization": "Bearer " + agentToken},
			want:   map[string][]string{"x-a365-token": {agentToken}, "authorization": {"Bearer " + agentToken}, "x-ms-tenant-id": {fabrikamTenant}}},
		{name: "scheme in any case, spaces around",
			header: map[string]string{"Authorization": "  bearer   " + agentToken + " "},
			want:   map[string][]string{"x-a365-token": {agentToken}}},
		{name: "configured key",
			configure: func(cfg *Config) { cfg.TokenMetadataKey = "X-Agent-Token" },
			header:    map[string]string{"Authorization": "Bearer " + agentToken},
			want:      map[string][]string{"x-agent-token": {agentToken}},
			absent:    []string{"x-a365-token"}},
		{name: "a header of the key's name is replaced by Authorization's token",
			header: map[string]string{"Authorization": "Bearer " + agentToken, "X-A365-Token": "something-else"},
			want:   map[string][]string{"x-a365-token": {agentToken}}},
		{name: "without Authorization, a header of the key's name stays",
			header: map[string]string{"X-A365-Token": "sent-as-header"},
			want:   map[string][]string{"x-a365-token": {"sent-as-header"}}},
		{name: "not Bearer",
			header: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"},
			want:   map[string][]string{"authorization": {"Basic dXNlcjpwYXNz"}},
			absent: []string{"x-a365-token"}},
		{name: "include_metadata off: no client metadata at all",
			configure: func(cfg *Config) { cfg.ServerConfig.IncludeMetadata = false },
			header:    map[string]string{"Authorization": "Bearer " + agentToken},
			absent:    []string{"x-a365-token", "authorization", "x-ms-tenant-id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := startReceiver(t, tt.configure)
			header := map[string]string{"x-ms-tenant-id": fabrikamTenant}
			for k, v := range tt.header {
				header[k] = v
			}
			r := tr.post(t, fabrikamPath(), fixture(t, "node-sdk-1.0.0-fabrikam.json"), header)
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			calls := tr.pipeline.received()
			require.Len(t, calls, 1)
			for k, v := range tt.want {
				assert.Equal(t, v, calls[0].metadata[k], k)
			}
			for _, k := range tt.absent {
				assert.NotContains(t, calls[0].metadata, k)
			}
		})
	}
}

// TestTokenNeverLogged: at debug level, whatever the outcome, neither the
// token nor the Authorization header reaches the log or the answer.
func TestTokenNeverLogged(t *testing.T) {
	tr := startReceiver(t, nil)
	auth := map[string]string{"Authorization": "Bearer " + agentToken}
	contoso := fixture(t, "node-sdk-1.0.0-contoso.json")
	withHeader := func(extra map[string]string) map[string]string {
		h := map[string]string{"Authorization": "Bearer " + agentToken}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	replies := []reply{
		tr.post(t, contosoPath(), contoso, auth),                                                   // taken
		tr.post(t, fabrikamPath(), contoso, auth),                                                  // refused for identity
		tr.post(t, contosoPath(), []byte("{"), auth),                                               // malformed
		tr.post(t, contosoPath(), contoso, withHeader(map[string]string{"Content-Type": "a/b"})),   // 415
		tr.post(t, "/nowhere", contoso, auth),                                                      // 404
		tr.post(t, contosoPath(), bytes.Repeat([]byte("x"), 1_000_001), auth),                      // 413
		tr.post(t, contosoPath(), contoso, withHeader(map[string]string{"Content-Encoding": "x"})), // 415
	}
	tr.pipeline.err = assert.AnError
	replies = append(replies, tr.post(t, contosoPath(), contoso, auth)) // 503

	require.NotZero(t, tr.logs.Len())
	for _, e := range tr.logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += fmt.Sprintf(" %s=%v", k, v)
		}
		assert.NotContains(t, line, agentToken)
		assert.NotContains(t, strings.ToLower(line), "bearer")
	}
	for _, r := range replies {
		assert.NotContains(t, string(r.body), agentToken)
	}
}
