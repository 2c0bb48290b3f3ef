package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestAADSTSErrors(t *testing.T) {
	tests := []struct {
		code   int
		oauth  string
		status int
		desc   string
		hint   string
	}{
		{700016, "unauthorized_client", 400, "Application with identifier 'app-1' was not found in the directory 'Contoso'.", "not found in this tenant"},
		{7000215, "invalid_client", 401, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app 'app-1'.", "invalid client secret"},
		{65001, "invalid_grant", 400, "The user or administrator has not consented to use the application with ID 'app-1'.", "admin consent"},
		{650051, "invalid_client", 400, "Using application 'app-1' is currently not supported for your organization.", "admin consent"},
		{500011, "invalid_resource", 400, "The resource principal named api://9b975845-388f-4429-889e-eab1ef63949c was not found in the tenant named Contoso.", "not present in this tenant"},
		{700024, "invalid_client", 400, "Client assertion is not within its valid time range.", "assertion has expired"},
		{82001, "unauthorized_client", 400, "Agentic applications are not permitted to use this grant type.", "agent_blueprint"},
		{1002012, "invalid_scope", 400, "The provided value for scope openid is not valid.", "/.default"},
		{123456, "invalid_request", 400, "Something new.", ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("AADSTS%d", tt.code), func(t *testing.T) {
			f := newFakeEntra(t)
			f.setFail(func(tokenRequest) (int, string) { return tt.status, entraError(tt.oauth, tt.code, tt.desc) })
			cfg := testConfig(f)
			cfg.ClientCredentials = secretCC("app-1", testSecret)
			a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))
			_, err := a.Token(context.Background(), testTenant, testAgent)
			require.Error(t, err)
			msg := err.Error()
			var ee *EntraError
			require.ErrorAs(t, err, &ee)
			assert.Equal(t, fmt.Sprintf("AADSTS%d", tt.code), ee.Code)
			assert.Equal(t, tt.status, ee.StatusCode)
			assert.Equal(t, tt.oauth, ee.OAuthError)
			assert.Equal(t, fmt.Sprintf("corr-%d", tt.code), ee.CorrelationID)
			assert.Equal(t, tt.desc, ee.Description, "Entra's first line, without code and trace")
			assert.Contains(t, msg, "client_id app-1")
			assert.Contains(t, msg, "tenant "+testTenant)
			assert.Contains(t, msg, ee.Code)
			if tt.hint != "" {
				assert.Contains(t, ee.Hint, tt.hint)
				assert.Contains(t, msg, tt.hint)
			}
			assert.NotContains(t, msg, "Trace ID")
			assert.NotContains(t, msg, testSecret)
			assert.NotContains(t, msg, "http call(", "MSAL's raw message (URL and body) is not passed on")
		})
	}
}

func TestTenantNotFound(t *testing.T) {
	f := newFakeEntra(t)
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))
	_, err := a.Token(context.Background(), "nosuchtenant.example", testAgent)
	require.Error(t, err)
	var ee *EntraError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, "AADSTS90002", ee.Code)
	assert.Contains(t, err.Error(), "tenant not found")
}

func TestBadTenantOfRequest(t *testing.T) {
	f := newFakeEntra(t)
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))
	for _, tenant := range []string{"../x", "common", "a b"} {
		_, err := a.Token(context.Background(), tenant, testAgent)
		require.Error(t, err, tenant)
	}
	_, err := a.Token(context.Background(), "", testAgent)
	require.ErrorContains(t, err, "needs a tenant id and an agent id")
	assert.Empty(t, f.tokenRequests())
}

func TestScrub(t *testing.T) {
	jwt := fakeJWT(map[string]any{"appid": "x"})
	s := scrub("secret "+testSecret+" and token "+jwt+" and blob "+strings.Repeat("A", 120)+" path /var/run/secrets/azure/tokens/azure-identity-token", testSecret)
	assert.NotContains(t, s, testSecret)
	assert.NotContains(t, s, jwt)
	assert.NotContains(t, s, strings.Repeat("A", 120))
	assert.Contains(t, s, "/var/run/secrets/azure/tokens/azure-identity-token")
	assert.Equal(t, 3, strings.Count(s, "[REDACTED]"))

	long := strings.Repeat("word ", 200)
	assert.LessOrEqual(t, len([]rune(shortDescription("AADSTS1: "+long, "AADSTS1"))), maxDescChars+1)

	err := scrubError(errors.New("failed with "+testSecret), testSecret)
	assert.NotContains(t, err.Error(), testSecret)
	plain := errors.New("plain")
	assert.Same(t, plain, scrubError(plain, testSecret))
}

func TestScrubForms(t *testing.T) {
	const secret = "Zx9/Qw+Er~a b&c=d"
	tests := []struct {
		name, text string
		secrets    []string
		gone       []string
		kept       []string
	}{
		{"raw", "secret " + secret + " end", []string{secret}, []string{secret}, []string{"secret ", " end"}},
		{"query escaped", "client_secret=" + url.QueryEscape(secret) + "&x=1", []string{secret}, []string{url.QueryEscape(secret)}, []string{"client_secret=", "&x=1"}},
		{"query escaped, lower-case hex", "client_secret=" + strings.ToLower(url.QueryEscape(secret)), []string{secret}, []string{"Zx9%2fQw%2bEr"}, []string{"client_secret="}},
		{"path escaped", "/t/" + url.PathEscape(secret) + "/x", []string{secret}, []string{url.PathEscape(secret)}, []string{"/t/", "/x"}},
		{"base64", "basic " + base64.StdEncoding.EncodeToString([]byte(secret)), []string{secret}, []string{base64.StdEncoding.EncodeToString([]byte(secret))}, []string{"basic "}},
		{"base64 url", "b " + base64.RawURLEncoding.EncodeToString([]byte(secret)), []string{secret}, []string{base64.RawURLEncoding.EncodeToString([]byte(secret))}, []string{"b "}},
		{"json escaped", `{"echo":"a<b>&c"}`, []string{"a<b>&c"}, []string{`a\u003cb\u003e\u0026c`, "a<b>&c"}, []string{`"echo"`}},
		{"seven characters", "the token tok7abc was refused", []string{"tok7abc"}, []string{"tok7abc"}, []string{"the token ", " was refused"}},
		{"two characters", "bad token Qz here", []string{"Qz"}, []string{"Qz"}, []string{"bad token ", " here"}},
		{"one character", "x=7;", []string{"7"}, []string{"7"}, []string{"x=", ";"}},
		{"secrets inside each other", "aaa-long-secret and aaa", []string{"aaa", "aaa-long-secret"}, []string{"aaa", "long-secret"}, []string{" and "}},
		{"a short secret does not break the marker", "tok AB", []string{"AB", "E", "D"}, []string{"AB"}, []string{"[REDACTED]"}},
		{"empty secret ignored", "nothing to hide", []string{""}, nil, []string{"nothing to hide"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scrub(tt.text, tt.secrets...)
			for _, g := range tt.gone {
				assert.NotContains(t, got, g)
			}
			for _, k := range tt.kept {
				assert.Contains(t, got, k)
			}
		})
	}
	// the JSON-escaped form as a server echoes it
	assert.NotContains(t, scrub(`{"echo":"a\u003cb\u003e\u0026c"}`, "a<b>&c"), `a\u003cb`)
}

// TestEchoedSecretsScrubbed: a token endpoint answers 400 echoing the
// client secret URL-encoded and a short static token; neither reaches
// the error or the logs.
func TestEchoedSecretsScrubbed(t *testing.T) {
	const (
		secret      = "Zx9/Qw+Er~client.secret.value"
		staticToken = "tok7abc"
	)
	core, logs := observer.New(zapcore.DebugLevel)
	tel := componenttest.NewNopTelemetrySettings()
	tel.Logger = zap.New(core)
	f := newFakeEntra(t)
	f.setFail(func(tokenRequest) (int, string) {
		return 400, entraError("invalid_request", 900144, "The request body must contain client_secret="+url.QueryEscape(secret)+
			" and not "+staticToken+"; got "+base64.StdEncoding.EncodeToString([]byte(secret)))
	})
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", secret)
	cfg.Agents = map[string]AgentConfig{testAgent2: {Static: &StaticConfig{Token: staticToken}}}
	a := startAuth(t, cfg, &tel, withHTTPClient(f.srv.Client()))

	_, err := a.Token(context.Background(), testTenant, testAgent)
	require.Error(t, err)
	var ee *EntraError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, "AADSTS900144", ee.Code)
	assert.Contains(t, ee.Description, "client_secret=[REDACTED]")
	lines := []string{err.Error()}
	require.NotEmpty(t, logs.All())
	for _, e := range logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += fmt.Sprintf(" %s=%v", k, v)
		}
		lines = append(lines, line)
	}
	for _, line := range lines {
		for _, s := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret), base64.StdEncoding.EncodeToString([]byte(secret)), staticToken} {
			assert.NotContains(t, line, s)
		}
	}
}

// TestSecretsNeverLogged runs every flow, succeeding and failing, with a
// debug logger and checks that no secret, token or assertion appears in
// the logs or the errors.
func TestSecretsNeverLogged(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	tel := componenttest.NewNopTelemetrySettings()
	tel.Logger = zap.New(core)

	f := newFakeEntra(t)
	fed := writeFile(t, t.TempDir(), "fed", "federated-assertion-must-not-leak")
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	cfg.Agents = map[string]AgentConfig{
		testAgent2:                             {AgentBlueprint: &AgentBlueprintConfig{CredentialConfig{ClientID: "bp", FederatedTokenFile: fed}}},
		"eeeeeeee-0000-0000-0000-000000000000": {Static: &StaticConfig{Token: "static-token-must-not-leak"}},
		"ffffffff-0000-0000-0000-000000000000": {FromContext: &FromContextConfig{}},
	}
	a := startAuth(t, cfg, &tel, withHTTPClient(f.srv.Client()))
	svc := newFakeA365(t, 1)
	rt, _ := a.RoundTripper(http.DefaultTransport)
	c := &http.Client{Transport: rt}
	defer c.CloseIdleConnections()

	var errs []error
	for _, agent := range []string{testAgent, testAgent2, "eeeeeeee-0000-0000-0000-000000000000", "ffffffff-0000-0000-0000-000000000000"} {
		req, _ := http.NewRequestWithContext(metadataCtx(DefaultHeader, fakeJWT(map[string]any{"appid": "someone-else"})),
			http.MethodPost, a365URL(svc.srv.URL, testTenant, agent), strings.NewReader("{}"))
		resp, err := c.Do(req)
		if err == nil {
			_ = resp.Body.Close()
		} else {
			errs = append(errs, err)
		}
	}
	f.setFail(func(tokenRequest) (int, string) {
		return 401, entraError("invalid_client", 7000215, "Invalid client secret provided: "+testSecret)
	})
	for _, tenant := range []string{testTenant2, "44444444-0000-0000-0000-000000000000"} {
		for _, agent := range []string{testAgent, testAgent2} {
			_, err := a.Token(context.Background(), tenant, agent)
			require.Error(t, err)
			errs = append(errs, err)
		}
	}
	require.NotEmpty(t, logs.All())
	secrets := append([]string{testSecret, "federated-assertion-must-not-leak", "static-token-must-not-leak"}, f.issuedTokens()...)
	for _, e := range logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += fmt.Sprintf(" %s=%v", k, v)
		}
		for _, s := range secrets {
			assert.NotContains(t, line, s)
		}
	}
	require.Len(t, errs, 5)
	for _, err := range errs {
		for _, s := range secrets {
			assert.NotContains(t, err.Error(), s)
		}
	}
	// the debug lines say what was acquired, for whom, until when
	acquired := logs.FilterMessage("agent365auth: token acquired").All()
	require.NotEmpty(t, acquired)
	fields := acquired[0].ContextMap()
	assert.Equal(t, "client_credentials", fields["source"])
	assert.Equal(t, testTenant, fields["tenant"])
	assert.Contains(t, fields, "expires_at")
}
