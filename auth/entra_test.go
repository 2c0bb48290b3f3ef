package auth

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
)

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// resourceScope is the scope of a token request without the OpenID scopes
// MSAL adds to every request (Entra ignores them for client credentials).
func resourceScope(form url.Values) string {
	var s []string
	for _, f := range strings.Fields(form.Get("scope")) {
		if f != "openid" && f != "offline_access" && f != "profile" {
			s = append(s, f)
		}
	}
	return strings.Join(s, " ")
}

func TestClientCredentialsSecret(t *testing.T) {
	f := newFakeEntra(t)
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))

	tok, err := a.Token(context.Background(), testTenant, testAgent)
	require.NoError(t, err)
	reqs := f.tokenRequests()
	require.Len(t, reqs, 1)
	assert.Equal(t, f.issuedTokens()[0], tok)
	r := reqs[0]
	assert.Equal(t, testTenant, r.Tenant, "the token is requested in the request's tenant")
	assert.Equal(t, "client_credentials", r.Form.Get("grant_type"))
	assert.Equal(t, "app-1", r.Form.Get("client_id"))
	assert.Equal(t, testSecret, r.Form.Get("client_secret"))
	assert.Equal(t, DefaultScope, resourceScope(r.Form))
	assert.Empty(t, r.Form.Get("client_assertion"))
	assert.Empty(t, r.Form.Get("fmi_path"))

	// cached: another agent of the same tenant uses the same app token
	tok2, err := a.Token(context.Background(), testTenant, testAgent2)
	require.NoError(t, err)
	assert.Equal(t, tok, tok2)
	require.Len(t, f.tokenRequests(), 1)

	// another tenant gets its own token
	tok3, err := a.Token(context.Background(), testTenant2, testAgent)
	require.NoError(t, err)
	assert.NotEqual(t, tok, tok3)
	reqs = f.tokenRequests()
	require.Len(t, reqs, 2)
	assert.Equal(t, testTenant2, reqs[1].Tenant)
}

func TestClientCredentialsPinnedTenant(t *testing.T) {
	f := newFakeEntra(t)
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	cfg.ClientCredentials.TenantID = testTenant2
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))
	_, err := a.Token(context.Background(), testTenant, testAgent)
	require.NoError(t, err)
	_, err = a.Token(context.Background(), "33333333-0000-0000-0000-000000000000", testAgent)
	require.NoError(t, err)
	reqs := f.tokenRequests()
	require.Len(t, reqs, 1, "a pinned tenant has one token whatever the request's tenant")
	assert.Equal(t, testTenant2, reqs[0].Tenant)
}

func TestClientCredentialsCertificate(t *testing.T) {
	for _, separate := range []bool{false, true} {
		name := "key in the certificate file"
		if separate {
			name = "key in private_key_file"
		}
		t.Run(name, func(t *testing.T) {
			f := newFakeEntra(t)
			certFile, keyFile := writeCert(t, separate)
			cfg := testConfig(f)
			cfg.ClientCredentials = &ClientCredentialsConfig{CredentialConfig{ClientID: "app-cert", CertificateFile: certFile, PrivateKeyFile: keyFile}}
			a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))
			_, err := a.Token(context.Background(), testTenant, testAgent)
			require.NoError(t, err)
			reqs := f.tokenRequests()
			require.Len(t, reqs, 1)
			form := reqs[0].Form
			assert.Equal(t, "client_credentials", form.Get("grant_type"))
			assert.Equal(t, "app-cert", form.Get("client_id"))
			assert.Equal(t, jwtBearer, form.Get("client_assertion_type"))
			assert.Empty(t, form.Get("client_secret"))

			header, claims := verifyAssertion(t, form.Get("client_assertion"), &testKey().PublicKey)
			assert.Equal(t, "PS256", header["alg"])
			assert.NotEmpty(t, header["x5t#S256"], "the assertion names the certificate by thumbprint")
			assert.Equal(t, f.srv.URL+"/"+testTenant+"/oauth2/v2.0/token", claims["aud"])
			assert.Equal(t, "app-cert", claims["iss"])
			assert.Equal(t, "app-cert", claims["sub"])
		})
	}
}

// verifyAssertion checks the PS256 or RS256 signature of a JWT with key
// and returns its header and claims.
func verifyAssertion(t *testing.T, jwt string, key *rsa.PublicKey) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	require.Len(t, parts, 3, "the client assertion is a JWT")
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		require.NoError(t, err)
		return b
	}
	require.NoError(t, json.Unmarshal(dec(parts[0]), &header))
	require.NoError(t, json.Unmarshal(dec(parts[1]), &claims))
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	sig := dec(parts[2])
	switch header["alg"] {
	case "PS256":
		require.NoError(t, rsa.VerifyPSS(key, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}), "signed with the test key")
	case "RS256":
		require.NoError(t, rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig), "signed with the test key")
	default:
		t.Fatalf("unexpected alg %v", header["alg"])
	}
	return header, claims
}

func TestClientCredentialsFederatedTokenFile(t *testing.T) {
	f := newFakeEntra(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "azure-identity-token", "federated-assertion-1\n")
	cfg := testConfig(f)
	cfg.ClientCredentials = &ClientCredentialsConfig{CredentialConfig{ClientID: "app-wi", FederatedTokenFile: file}}
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))

	_, err := a.Token(context.Background(), testTenant, testAgent)
	require.NoError(t, err)
	// the kubelet rotates the file: the next acquisition reads it again
	require.NoError(t, os.WriteFile(file, []byte("federated-assertion-2"), 0o600))
	_, err = a.Token(context.Background(), testTenant2, testAgent)
	require.NoError(t, err)

	reqs := f.tokenRequests()
	require.Len(t, reqs, 2)
	for i, want := range []string{"federated-assertion-1", "federated-assertion-2"} {
		form := reqs[i].Form
		assert.Equal(t, "client_credentials", form.Get("grant_type"))
		assert.Equal(t, "app-wi", form.Get("client_id"))
		assert.Equal(t, jwtBearer, form.Get("client_assertion_type"))
		assert.Equal(t, want, form.Get("client_assertion"))
		assert.Equal(t, DefaultScope, resourceScope(form))
	}
}

func TestAgentBlueprintTwoHops(t *testing.T) {
	f := newFakeEntra(t)
	cfg := testConfig(f)
	cfg.AgentBlueprint = &AgentBlueprintConfig{CredentialConfig{ClientID: "blueprint-app", ClientSecret: configopaque.String(testSecret)}}
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))

	tokA, err := a.Token(context.Background(), testTenant, testAgent)
	require.NoError(t, err)
	tokB, err := a.Token(context.Background(), testTenant, testAgent2)
	require.NoError(t, err)
	assert.NotEqual(t, tokA, tokB, "each agent has its own token")
	again, err := a.Token(context.Background(), testTenant, testAgent)
	require.NoError(t, err)
	assert.Equal(t, tokA, again, "cached per agent")

	reqs, issued := f.tokenRequests(), f.issuedTokens()
	require.Len(t, reqs, 4, "two hops per agent, one blueprint credential for both agents")
	for i, agent := range []string{testAgent, testAgent2} {
		hop1, hop2 := reqs[2*i], reqs[2*i+1]
		assert.Equal(t, testTenant, hop1.Tenant)
		assert.Equal(t, "client_credentials", hop1.Form.Get("grant_type"))
		assert.Equal(t, "blueprint-app", hop1.Form.Get("client_id"))
		assert.Equal(t, testSecret, hop1.Form.Get("client_secret"))
		assert.Equal(t, "api://AzureADTokenExchange/.default", resourceScope(hop1.Form))
		assert.Equal(t, agent, hop1.Form.Get("fmi_path"))

		assert.Equal(t, testTenant, hop2.Tenant)
		assert.Equal(t, "client_credentials", hop2.Form.Get("grant_type"))
		assert.Equal(t, agent, hop2.Form.Get("client_id"), "hop 2 is the agent instance app")
		assert.Equal(t, jwtBearer, hop2.Form.Get("client_assertion_type"))
		assert.Equal(t, issued[2*i], hop2.Form.Get("client_assertion"), "hop 2's assertion is T1")
		assert.Equal(t, DefaultScope, resourceScope(hop2.Form))
		assert.Empty(t, hop2.Form.Get("client_secret"))
		assert.Empty(t, hop2.Form.Get("fmi_path"))
	}
	assert.Equal(t, issued[1], tokA)
	assert.Equal(t, issued[3], tokB)
}

func TestAgentBlueprintCertificateAndFederated(t *testing.T) {
	certFile, _ := writeCert(t, false)
	fed := writeFile(t, t.TempDir(), "token", "blueprint-federated-assertion")
	for name, cred := range map[string]CredentialConfig{
		"certificate": {ClientID: "bp", CertificateFile: certFile},
		"federated":   {ClientID: "bp", FederatedTokenFile: fed},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeEntra(t)
			cfg := testConfig(f)
			cfg.AgentBlueprint = &AgentBlueprintConfig{cred}
			a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))
			_, err := a.Token(context.Background(), testTenant, testAgent)
			require.NoError(t, err)
			reqs := f.tokenRequests()
			require.Len(t, reqs, 2)
			hop1 := reqs[0].Form
			assert.Equal(t, "bp", hop1.Get("client_id"))
			assert.Equal(t, jwtBearer, hop1.Get("client_assertion_type"))
			assert.Equal(t, testAgent, hop1.Get("fmi_path"))
			if name == "federated" {
				assert.Equal(t, "blueprint-federated-assertion", hop1.Get("client_assertion"))
			} else {
				_, claims := verifyAssertion(t, hop1.Get("client_assertion"), &testKey().PublicKey)
				assert.Equal(t, "bp", claims["iss"])
			}
			assert.Equal(t, f.issuedTokens()[0], reqs[1].Form.Get("client_assertion"))
		})
	}
}

func TestAgentBlueprintErrorsNameTheHop(t *testing.T) {
	f := newFakeEntra(t)
	cfg := testConfig(f)
	cfg.AgentBlueprint = &AgentBlueprintConfig{CredentialConfig{ClientID: "blueprint-app", ClientSecret: configopaque.String(testSecret)}}
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))

	f.setFail(func(r tokenRequest) (int, string) {
		if r.Form.Get("fmi_path") != "" {
			return 401, entraError("invalid_client", 7000215, "Invalid client secret provided.")
		}
		return 0, ""
	})
	_, err := a.Token(context.Background(), testTenant, testAgent)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "hop 1")
	assert.Contains(t, err.Error(), "blueprint client_id blueprint-app")
	assert.Contains(t, err.Error(), "AADSTS7000215")
	assert.NotContains(t, err.Error(), testSecret)

	f.setFail(func(r tokenRequest) (int, string) {
		if r.Form.Get("client_assertion") != "" {
			return 400, entraError("invalid_request", 700211, "No matching federated identity record found for presented assertion issuer.")
		}
		return 0, ""
	})
	// another agent: testAgent backs off after its failure
	_, err = a.Token(context.Background(), testTenant, testAgent2)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "hop 2")
	assert.Contains(t, err.Error(), "AADSTS700211")
	for _, tok := range f.issuedTokens() {
		assert.NotContains(t, err.Error(), tok, "T1 never appears in errors")
	}
}

func TestTokenExpiryFromEntra(t *testing.T) {
	f := newFakeEntra(t)
	f.expiresIn = 1800
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	a := startAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))
	tok, err := a.token(context.Background(), Identity{testTenant, testAgent})
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(30*time.Minute), tok.expiresOn, time.Minute)
}
