package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agent365-otel/agent365exporter/testbed/internal/sink"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	tenant = "e3064512-cc6d-4703-be71-a2ecaecaa98a"
	agent  = "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"
)

// syncBuffer is a bytes.Buffer safe for the sink's goroutines and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// running is run in a goroutine.
type running struct {
	addr           string
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan error
}

// start runs the command with args plus -listen 127.0.0.1:0 and -addr-file,
// and waits until it listens.
func start(t *testing.T, args ...string) *running {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	args = append([]string{"-listen", "127.0.0.1:0", "-addr-file", addrFile}, args...)
	go func() { r.done <- run(ctx, args, r.stdout, r.stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(15 * time.Second):
			t.Error("run did not return")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(addrFile); err == nil && len(b) > 0 {
			r.addr = string(b)
			return r
		}
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("run returned before listening: %v\nstderr: %s", err, r.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("the sink did not write its address")
	return nil
}

// stop cancels the context and returns run's error.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after the context was canceled")
		return nil
	}
}

func client(t *testing.T, tlsConfig *tls.Config) *http.Client {
	tr := &http.Transport{TLSClientConfig: tlsConfig, DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

const body = `{"resourceSpans":[{"resource":{"attributes":{"service.name":"x"}},"scopeSpans":[{"scope":{"name":"Agent365Sdk"},"spans":[` +
	`{"traceId":"4bd8f606688c3f3347d69c1b6539c957","spanId":"0766d68605234692","name":"chat","kind":"CLIENT",` +
	`"startTimeUnixNano":1,"endTimeUnixNano":2,"attributes":{"gen_ai.operation.name":"chat","microsoft.tenant.id":"` + tenant + `"},` +
	`"events":null,"links":null,"status":{"code":"UNSET","message":""}}]}]}]}`

func post(t *testing.T, c *http.Client, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func tracesURL(scheme, addr string) string {
	return scheme + "://" + addr + "/observability/tenants/" + tenant + "/otlp/agents/" + agent + "/traces?api-version=1"
}

func TestRunServesRecordsAndShutsDown(t *testing.T) {
	out := filepath.Join(t.TempDir(), "spans.jsonl")
	r := start(t, "-token", "secret", "-out", out)
	c := client(t, nil)

	status, _ := post(t, c, tracesURL("http", r.addr), "wrong")
	assert.Equal(t, http.StatusUnauthorized, status)
	status, resp := post(t, c, tracesURL("http", r.addr), "secret")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, `{"partialSuccess":{"rejectedSpans":0,"errorMessage":""}}`, resp)

	// The record is in the file while the sink runs.
	f, err := os.Open(out)
	require.NoError(t, err)
	recs, err := sink.ReadRecords(f)
	f.Close()
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, tenant, recs[0].TenantID)
	assert.Equal(t, agent, recs[0].AgentID)

	hr, err := c.Get("http://" + r.addr + "/_sink/healthz")
	require.NoError(t, err)
	hr.Body.Close()
	assert.Equal(t, http.StatusOK, hr.StatusCode)

	require.NoError(t, r.stop(t))
	stdout := r.stdout.String()
	assert.True(t, strings.HasPrefix(stdout, "a365sink listening on http://"+r.addr+"\n"), stdout)
	assert.Contains(t, stdout, "a365sink report: 1 span in 1 request")
	assert.Contains(t, stdout, "agent "+agent)
	assert.Contains(t, stdout, "missing: gen_ai.agent.id (1 of 1 spans)")
	assert.Contains(t, r.stderr.String(), "-> 401", "the request log")
	assert.NoFileExists(t, filepath.Join(filepath.Dir(out), "addr"))

	_, err = net.DialTimeout("tcp", r.addr, time.Second)
	assert.Error(t, err, "no longer listening")
}

func TestRunQuiet(t *testing.T) {
	r := start(t, "-quiet")
	c := client(t, nil)
	status, _ := post(t, c, tracesURL("http", r.addr), "any")
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, r.stop(t))
	assert.Empty(t, r.stderr.String())
	assert.Contains(t, r.stdout.String(), "a365sink report: 1 span")
}

func TestRunOutToStdout(t *testing.T) {
	r := start(t, "-out", "-", "-quiet")
	c := client(t, nil)
	status, _ := post(t, c, tracesURL("http", r.addr), "any")
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, r.stop(t))

	// stdout holds only the records; the banner and report go to stderr.
	recs, err := sink.ReadRecords(strings.NewReader(r.stdout.String()))
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Contains(t, r.stderr.String(), "a365sink listening on http://")
	assert.Contains(t, r.stderr.String(), "a365sink report")
}

func TestRunShutsDownWithARequestWaiting(t *testing.T) {
	r := start(t, "-quiet")
	c := client(t, nil)
	req, err := http.NewRequest(http.MethodPost, "http://"+r.addr+"/_sink/faults", strings.NewReader(`{"delay":"1h"}`))
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	answered := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, tracesURL("http", r.addr), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer x")
		resp, err := c.Do(req)
		if err != nil {
			answered <- -1
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	// Wait until the request is held by the fault.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var faults struct {
			Faults []sink.FaultState `json:"faults"`
		}
		resp, err := c.Get("http://" + r.addr + "/_sink/faults")
		require.NoError(t, err)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&faults))
		resp.Body.Close()
		if len(faults.Faults) == 1 && faults.Faults[0].Applied == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, r.stop(t), "shutdown ends the delay")
	assert.Equal(t, http.StatusOK, <-answered, "the waiting request is answered")
}

func TestRunTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	r := start(t, "-tls-cert", certFile, "-tls-key", keyFile, "-quiet")
	c := client(t, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	status, _ := post(t, c, tracesURL("https", r.addr), "any")
	assert.Equal(t, http.StatusOK, status)
	require.NoError(t, r.stop(t))
	assert.Contains(t, r.stdout.String(), "a365sink listening on https://"+r.addr)
}

func TestRunFlagErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"extra argument", []string{"serve"}, "unexpected arguments"},
		{"bad duration", []string{"-latency", "soon"}, "invalid value"},
		{"negative latency", []string{"-latency", "-1s"}, "-latency"},
		{"zero max body", []string{"-max-body", "0"}, "-max-body"},
		{"cert without key", []string{"-tls-cert", "x.pem"}, "-tls-cert and -tls-key"},
		{"discard and out", []string{"-discard", "-out", "x"}, "-discard"},
		{"every interface", []string{"-listen", ":0"}, "-allow-remote"},
		{"unspecified address", []string{"-listen", "0.0.0.0:0"}, "not a loopback address"},
		{"remote address", []string{"-listen", "192.0.2.1:4319"}, "-allow-remote"},
		{"host name", []string{"-listen", "example.com:4319"}, "-allow-remote"},
		{"no port", []string{"-listen", "127.0.0.1"}, "missing port"},
		{"missing cert files", []string{"-tls-cert", filepath.Join(dir, "c"), "-tls-key", filepath.Join(dir, "k")}, "TLS certificate"},
		{"out in a missing directory", []string{"-out", filepath.Join(dir, "no", "such.jsonl")}, "-out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append(tt.args, "-addr-file", filepath.Join(dir, "addr")), &stdout, &stderr)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, stdout.String(), "listening")
			assert.NoFileExists(t, filepath.Join(dir, "addr"))
		})
	}
	var ue usageError
	require.ErrorAs(t, run(context.Background(), []string{"-listen", ":0"}, io.Discard, io.Discard), &ue, "exit status 2")
	err := run(context.Background(), []string{"-tls-cert", filepath.Join(dir, "c"), "-tls-key", filepath.Join(dir, "k")}, io.Discard, io.Discard)
	assert.False(t, errors.As(err, &ue), "a runtime error, exit status 1")
}

func TestRunHelp(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		var stdout, stderr bytes.Buffer
		require.NoError(t, run(context.Background(), []string{arg}, &stdout, &stderr))
		out := stdout.String()
		assert.True(t, strings.HasPrefix(out, "Usage: a365sink [flags]"), out)
		for _, want := range []string{"-listen", "-addr-file", "-token", "-max-body", "-out", "-discard", "-latency",
			"-tls-cert", "-tls-key", "-quiet", "-allow-remote", "/_sink/report.txt", "/_sink/faults",
			"/observability/tenants/{tenantId}/otlp/agents/{agentId}/traces", "127.0.0.1:4319"} {
			assert.Contains(t, out, want)
		}
		assert.Empty(t, stderr.String())
	}
}

func TestCheckListen(t *testing.T) {
	tests := []struct {
		addr        string
		allowRemote bool
		ok          bool
	}{
		{"127.0.0.1:4319", false, true},
		{"127.1.2.3:0", false, true},
		{"[::1]:0", false, true},
		{"localhost:4319", false, true},
		{"LOCALHOST:4319", false, true},
		{":4319", false, false},
		{"0.0.0.0:4319", false, false},
		{"[::]:4319", false, false},
		{"10.0.0.1:4319", false, false},
		{"sink.example:4319", false, false},
		{":4319", true, true},
		{"10.0.0.1:4319", true, true},
		{"nonsense", true, false},
	}
	for _, tt := range tests {
		err := checkListen(tt.addr, tt.allowRemote)
		assert.Equal(t, tt.ok, err == nil, "%s allowRemote=%v: %v", tt.addr, tt.allowRemote, err)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "a365sink test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
