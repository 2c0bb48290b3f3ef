package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/agent365-otel/agent365exporter/auth/internal/metadata"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, metadata.Type, f.Type())
	assert.Equal(t, component.StabilityLevelAlpha, f.Stability())
	cfg := f.CreateDefaultConfig().(*Config)
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	assert.Equal(t, DefaultAuthority, cfg.Authority)
	assert.Equal(t, []string{DefaultScope}, cfg.Scopes)
	assert.Equal(t, 5*time.Minute, cfg.RefreshBefore)
	assert.Equal(t, 10000, cfg.MaxCachedTokens)
	assert.ErrorContains(t, confmap.Validate(cfg), "no token source configured", "the default has no source: one must be chosen")
}

func TestLifecycle(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Static = &StaticConfig{Token: "lifecycle-token"}
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	a, ok := ext.(*Authenticator)
	require.True(t, ok)
	var _ extensionauth.HTTPClient = a
	var _ TokenProvider = a

	_, err = a.Token(context.Background(), testTenant, testAgent)
	require.ErrorContains(t, err, "not started")

	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	rt, err := a.RoundTripper(nil)
	require.NoError(t, err)
	require.NotNil(t, rt)
	tok, err := a.Token(context.Background(), testTenant, testAgent)
	require.NoError(t, err)
	assert.Equal(t, "lifecycle-token", tok)
	require.NoError(t, ext.Shutdown(context.Background()))
	_, err = a.Token(context.Background(), testTenant, testAgent)
	require.Error(t, err)
	require.NoError(t, ext.Shutdown(context.Background()), "shutdown twice is fine")

	// a shutdown that was never started is fine too
	ext2, err := f.Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, ext2.Shutdown(context.Background()))
}

func TestShutdownWhileAcquiring(t *testing.T) {
	f := newFakeEntra(t)
	f.gate = make(chan struct{})
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	a := newTestAuth(t, cfg, nil, withHTTPClient(f.srv.Client()))
	require.NoError(t, a.Start(context.Background(), componenttest.NewNopHost()))
	done := make(chan error, 1)
	go func() {
		_, err := a.Token(context.Background(), testTenant, testAgent)
		done <- err
	}()
	select {
	case <-f.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no token request arrived")
	}
	require.NoError(t, a.Shutdown(context.Background()), "shutdown cancels the acquisition and waits for it")
	require.Error(t, <-done)
}

func TestStartErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	certFile, _ := writeCert(t, true)
	notPEM := writeFile(t, dir, "not.pem", "hello")
	empty := writeFile(t, dir, "empty", "\n")
	ecCert := writeECCert(t, dir)
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name string
		set  func(*Config)
		want []string
	}{
		{"missing certificate", func(c *Config) {
			c.ClientCredentials = &ClientCredentialsConfig{CredentialConfig{ClientID: "a", CertificateFile: missing}}
		}, []string{"client_credentials::certificate_file", missing}},
		{"missing key", func(c *Config) {
			c.ClientCredentials = &ClientCredentialsConfig{CredentialConfig{ClientID: "a", CertificateFile: certFile, PrivateKeyFile: missing}}
		}, []string{"client_credentials::private_key_file", missing}},
		{"certificate without key", func(c *Config) {
			c.ClientCredentials = &ClientCredentialsConfig{CredentialConfig{ClientID: "a", CertificateFile: certFile}}
		}, []string{certFile, "no private key"}},
		{"not PEM", func(c *Config) {
			c.AgentBlueprint = &AgentBlueprintConfig{CredentialConfig{ClientID: "a", CertificateFile: notPEM}}
		}, []string{"agent_blueprint", notPEM, "no certificates"}},
		{"EC key", func(c *Config) {
			c.ClientCredentials = &ClientCredentialsConfig{CredentialConfig{ClientID: "a", CertificateFile: ecCert}}
		}, []string{ecCert, "RSA"}},
		{"missing federated token file", func(c *Config) {
			c.ClientCredentials = &ClientCredentialsConfig{CredentialConfig{ClientID: "a", FederatedTokenFile: missing}}
		}, []string{"client_credentials::federated_token_file", missing}},
		{"empty federated token file", func(c *Config) {
			c.AgentBlueprint = &AgentBlueprintConfig{CredentialConfig{ClientID: "a", FederatedTokenFile: empty}}
		}, []string{"agent_blueprint::federated_token_file", empty, "empty"}},
		{"missing static token file of an agent", func(c *Config) {
			c.Agents = map[string]AgentConfig{testAgent: {Static: &StaticConfig{TokenFile: missing}}}
		}, []string{"agents::" + testAgent + "::static::token_file", missing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(nil)
			tt.set(cfg)
			require.NoError(t, confmap.Validate(cfg))
			a := newTestAuth(t, cfg, nil)
			err := a.Start(context.Background(), componenttest.NewNopHost())
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			require.NoError(t, a.Shutdown(context.Background()))
		})
	}
}

func writeECCert(t *testing.T, dir string) string {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "ec"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	return writeFile(t, dir, "ec.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))+
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
}

func TestMetrics(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	set := tel.NewTelemetrySettings()

	f := newFakeEntra(t)
	tokenFile := writeFile(t, t.TempDir(), "token", "file-token")
	cfg := testConfig(f)
	cfg.ClientCredentials = secretCC("app-1", testSecret)
	cfg.Agents = map[string]AgentConfig{
		testAgent2:                             {Static: &StaticConfig{TokenFile: tokenFile}},
		"ffffffff-0000-0000-0000-000000000000": {FromContext: &FromContextConfig{}},
	}
	a := startAuth(t, cfg, &set, withHTTPClient(f.srv.Client()))
	ctx := context.Background()
	for range 3 {
		_, err := a.Token(ctx, testTenant, testAgent) // 1 acquisition, 2 hits
		require.NoError(t, err)
		_, err = a.Token(ctx, testTenant, testAgent2) // loaded once
		require.NoError(t, err)
	}
	_, err := a.Token(metadataCtx(DefaultHeader, "opaque"), testTenant, "ffffffff-0000-0000-0000-000000000000")
	require.NoError(t, err)
	_, err = a.Token(ctx, testTenant, "ffffffff-0000-0000-0000-000000000000")
	require.Error(t, err)
	f.setFail(func(tokenRequest) (int, string) { return 500, "{}" })
	_, err = a.Token(ctx, testTenant2, testAgent)
	require.Error(t, err)

	m, err := tel.GetMetric("otelcol_agent365auth_token_acquisitions")
	require.NoError(t, err)
	got := map[[2]string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		src, _ := dp.Attributes.Value(attribute.Key("source"))
		out, _ := dp.Attributes.Value(attribute.Key("outcome"))
		assert.Equal(t, 2, dp.Attributes.Len(), "no tenant or agent ids as attributes")
		got[[2]string{src.AsString(), out.AsString()}] = dp.Value
	}
	assert.Equal(t, map[[2]string]int64{
		{"client_credentials", "success"}: 1,
		{"client_credentials", "failure"}: 1,
		{"from_context", "success"}:       1,
		{"static", "success"}:             1,
		{"from_context", "failure"}:       1,
	}, got)

	hits, err := tel.GetMetric("otelcol_agent365auth_cache_hits")
	require.NoError(t, err)
	assert.Equal(t, int64(2), hits.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
}

func TestTokenProviderFromHost(t *testing.T) {
	// other components find the extension among the host's extensions
	cfg := testConfig(nil)
	cfg.Static = &StaticConfig{Token: configopaque.String("t")}
	a := startAuth(t, cfg, nil)
	exts := map[component.ID]component.Component{component.NewID(metadata.Type): a}
	tp, ok := exts[component.NewID(metadata.Type)].(TokenProvider)
	require.True(t, ok)
	tok, err := tp.Token(context.Background(), testTenant, testAgent)
	require.NoError(t, err)
	assert.Equal(t, "t", tok)
}
