package agent365receiver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/agent365-otel/agent365exporter/receiver/internal/metadata"
)

// The bodies the Node.js SDK 1.0.0 sent for the e2e agent's two turns
// (testdata/node-sdk-1.0.0-*.json, captured from its requests; paths in
// the resource and stack trace shortened, the oversized span left out).
const (
	fabrikamTenant = "F0E1D2C3-B4A5-4697-8899-AABBCCDDEEFF"
	fabrikamAgent  = "aaaaaaaa-0000-4000-8000-000000000002"
	contosoTenant  = "e3064512-cc6d-4703-be71-a2ecaecaa98a"
	contosoAgent   = "aaaaaaaa-0000-4000-8000-000000000001"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return data
}

// call is one ConsumeTraces the pipeline saw.
type call struct {
	td       ptrace.Traces
	metadata map[string][]string
}

// pipeline records what reaches it and answers with err.
type pipeline struct {
	mu    sync.Mutex
	calls []call
	err   error
}

func (p *pipeline) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (p *pipeline) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	md := map[string][]string{}
	info := client.FromContext(ctx)
	for k := range info.Metadata.Keys() {
		md[k] = info.Metadata.Get(k)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, call{td: td, metadata: md})
	return p.err
}

func (p *pipeline) received() []call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]call(nil), p.calls...)
}

func (p *pipeline) spans() int {
	n := 0
	for _, c := range p.received() {
		n += c.td.SpanCount()
	}
	return n
}

// testReceiver is the receiver listening on a loopback port.
type testReceiver struct {
	base     string // http://127.0.0.1:port
	client   *http.Client
	pipeline *pipeline
	tel      *componenttest.Telemetry
	logs     *observer.ObservedLogs
}

// startReceiver starts the receiver on 127.0.0.1, a free port, with cfg
// changed by configure; it is shut down when the test ends.
func startReceiver(t *testing.T, configure func(*Config)) *testReceiver {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:0"
	if configure != nil {
		configure(cfg)
	}
	tel := componenttest.NewTelemetry()
	core, logs := observer.New(zapcore.DebugLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	set.Logger = zap.New(core)
	p := &pipeline{}
	rcv, err := NewFactory().CreateTraces(context.Background(), set, cfg, p)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, rcv.Shutdown(ctx))
		require.NoError(t, tel.Shutdown(context.Background()))
	})
	return &testReceiver{base: "http://" + rcv.(*agent365Receiver).addr.String(), client: client, pipeline: p, tel: tel, logs: logs}
}

// reply is an answer as the client sees it.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// errorBody is the service's JSON error shape.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (r reply) errorMessage(t *testing.T) errorBody {
	t.Helper()
	var e errorBody
	require.NoError(t, json.Unmarshal(r.body, &e), "body %q", r.body)
	return e
}

func (r reply) partialSuccess(t *testing.T) partialSuccess {
	t.Helper()
	var ps struct {
		PartialSuccess *partialSuccess `json:"partialSuccess"`
	}
	require.NoError(t, json.Unmarshal(r.body, &ps), "body %q", r.body)
	require.NotNil(t, ps.PartialSuccess, "body %q", r.body)
	return *ps.PartialSuccess
}

// post sends body to path with the given headers ("Content-Type" defaults
// to application/json).
func (tr *testReceiver) post(t *testing.T, path string, body []byte, headers map[string]string) reply {
	t.Helper()
	return tr.do(t, http.MethodPost, path, bytes.NewReader(body), headers)
}

func (tr *testReceiver) do(t *testing.T, method, path string, body io.Reader, headers map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(method, tr.base+path, body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentTypeJSON)
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := tr.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{status: resp.StatusCode, header: resp.Header, body: data}
}

// sum is the value of a counter with the given attributes (0 when never
// recorded).
func (tr *testReceiver) sum(t *testing.T, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	m, err := tr.tel.GetMetric(name)
	if err != nil {
		return 0
	}
	want := attribute.NewSet(attrs...)
	var total int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		match := true
		for _, kv := range want.ToSlice() {
			if v, ok := dp.Attributes.Value(kv.Key); !ok || v != kv.Value {
				match = false
			}
		}
		if match {
			total += dp.Value
		}
	}
	return total
}

func contosoPath() string {
	return "/observability/tenants/" + contosoTenant + "/otlp/agents/" + contosoAgent + "/traces?api-version=1"
}

func fabrikamPath() string {
	return "/observability/tenants/" + fabrikamTenant + "/otlp/agents/" + fabrikamAgent + "/traces?api-version=1"
}
