package auth

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNoPlaintextProxy(t *testing.T) {
	tests := []struct {
		name, target, proxy string
		want                string // the proxy used; empty for direct
	}{
		{"https through a remote proxy", "https://login.microsoftonline.com/t/oauth2/v2.0/token", "http://proxy.corp:3128", "http://proxy.corp:3128"},
		{"instance metadata service never through a proxy", "http://169.254.169.254/metadata/identity/oauth2/token", "http://proxy.corp:3128", ""},
		{"loopback endpoint, remote proxy", "http://127.0.0.1:41741/msi/token", "http://proxy.corp:3128", ""},
		{"remote http endpoint, loopback proxy", "http://identity.example/token", "http://127.0.0.1:3128", ""},
		{"loopback endpoint and proxy", "http://localhost:41741/msi/token", "http://127.0.0.1:3128", "http://127.0.0.1:3128"},
		{"no proxy", "http://169.254.169.254/metadata/identity/oauth2/token", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := func(*http.Request) (*url.URL, error) {
				if tt.proxy == "" {
					return nil, nil
				}
				return url.Parse(tt.proxy)
			}
			req, err := http.NewRequest(http.MethodGet, tt.target, http.NoBody)
			require.NoError(t, err)
			got, err := noPlaintextProxy(env)(req)
			require.NoError(t, err)
			if tt.want == "" {
				assert.Nil(t, got)
				return
			}
			require.NotNil(t, got)
			assert.Equal(t, tt.want, got.String())
		})
	}
}

func TestTokenClientRefusesRedirects(t *testing.T) {
	for _, authority := range []string{DefaultAuthority, "http://127.0.0.1:8080"} {
		c := tokenClient(&http.Client{}, authority)
		require.NotNil(t, c.CheckRedirect, authority)
		from, _ := url.Parse("https://login.example/t/token?secret=x")
		to, _ := url.Parse("https://elsewhere.example/steal?x=1")
		err := c.CheckRedirect(&http.Request{URL: to, Response: &http.Response{StatusCode: http.StatusPermanentRedirect}},
			[]*http.Request{{Method: http.MethodPost, URL: from}})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "POST https://login.example/t/token?… answered HTTP 308, a redirect to https://elsewhere.example/steal?…")
		assert.NotContains(t, err.Error(), "secret=x")
	}
}
