package agent365exporter

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/agent365-otel/agent365exporter/internal/metadata"
	"github.com/agent365-otel/agent365exporter/internal/telemetrytest"
)

const (
	tenantA = "e3064512-cc6d-4703-be71-a2ecaecaa98a"
	tenantB = "aaaabbbb-0000-cccc-1111-dddd2222eeee"
	agent1  = "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"
	agent2  = "cccccccc-3333-4444-5555-dddddddddddd"
	token   = "test-token-1f2e3d4c5b6a"
)

// wireSpan is a span as the service receives it.
type wireSpan struct {
	TraceID           string         `json:"traceId"`
	SpanID            string         `json:"spanId"`
	ParentSpanID      *string        `json:"parentSpanId"`
	Name              string         `json:"name"`
	Kind              string         `json:"kind"`
	StartTimeUnixNano uint64         `json:"startTimeUnixNano"`
	EndTimeUnixNano   uint64         `json:"endTimeUnixNano"`
	Attributes        map[string]any `json:"attributes"`
	Events            []any          `json:"events"`
	Links             []any          `json:"links"`
	Status            struct {
		Code    string  `json:"code"`
		Message *string `json:"message"`
	} `json:"status"`
}

type wirePayload struct {
	ResourceSpans []struct {
		Resource struct {
			Attributes map[string]any `json:"attributes"`
		} `json:"resource"`
		ScopeSpans []struct {
			Scope struct {
				Name    string  `json:"name"`
				Version *string `json:"version"`
			} `json:"scope"`
			Spans []wireSpan `json:"spans"`
		} `json:"scopeSpans"`
	} `json:"resourceSpans"`
}

// received is one request the fake service got.
type received struct {
	Path    string
	Query   string
	Header  http.Header
	Body    []byte
	Payload wirePayload
}

func (r received) spanNames() []string {
	var out []string
	for _, rs := range r.Payload.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				out = append(out, s.Name)
			}
		}
	}
	return out
}

// fakeService stands in for the Agent 365 ingestion service.
type fakeService struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []received
	respond func(r *http.Request, body []byte) (int, http.Header, string)
}

const okBody = `{"partialSuccess":{"rejectedSpans":0,"errorMessage":""}}`

func newFakeService(t *testing.T) *fakeService {
	f := &fakeService{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		f.mu.Lock()
		respond := f.respond
		f.mu.Unlock()
		status, header, respBody := http.StatusOK, http.Header{}, okBody
		if respond != nil {
			status, header, respBody = respond(r, body)
		}
		if status >= 200 && status < 300 {
			rec := received{Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body}
			require.True(t, json.Valid(body), "body must be valid JSON")
			// Bodies in the otlp_json format do not fit the a365 shape.
			_ = json.Unmarshal(body, &rec.Payload)
			f.mu.Lock()
			f.reqs = append(f.reqs, rec)
			f.mu.Unlock()
		}
		for k, v := range header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, respBody)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeService) setRespond(fn func(r *http.Request, body []byte) (int, http.Header, string)) {
	f.mu.Lock()
	f.respond = fn
	f.mu.Unlock()
}

func (f *fakeService) received() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.reqs...)
}

// byPath groups delivered span names by request path.
func (f *fakeService) byPath() map[string][]string {
	out := map[string][]string{}
	for _, r := range f.received() {
		out[r.Path] = append(out[r.Path], r.spanNames()...)
	}
	return out
}

// globalPath is the default route: service-to-service.
func globalPath(tenant, agent string) string {
	return "/observabilityService/tenants/" + tenant + "/otlp/agents/" + agent + "/traces"
}

// testAuth is a plain authenticator with one token; it records the
// identity each request carries.
type testAuth struct {
	component.StartFunc
	component.ShutdownFunc
	token string
	// transport, when set, replaces the client's base transport.
	transport http.RoundTripper
	// fail, when set, is the error of every request: no token.
	fail error
	mu   sync.Mutex
	seen []identity
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (a *testAuth) RoundTripper(base http.RoundTripper) (http.RoundTripper, error) {
	if a.transport != nil {
		base = a.transport
	}
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if a.fail != nil {
			_ = req.Body.Close()
			return nil, a.fail
		}
		id := requestIdentity(req)
		a.mu.Lock()
		a.seen = append(a.seen, id)
		a.mu.Unlock()
		out := req.Clone(req.Context())
		out.Header.Set("Authorization", "Bearer "+a.token)
		return base.RoundTrip(out)
	}), nil
}

type testHost struct {
	component.Host
	ext map[component.ID]component.Component
}

func (h testHost) GetExtensions() map[component.ID]component.Component { return h.ext }

var testAuthID = component.MustNewID("testauth")

// harness is a started exporter with its telemetry and logs.
type harness struct {
	exp  exporter.Traces
	tel  *componenttest.Telemetry
	logs *observer.ObservedLogs
	auth *testAuth
}

func newHarness(t *testing.T, endpoint string, mutate func(*Config)) *harness {
	t.Helper()
	return newHarnessWithAuth(t, endpoint, &testAuth{token: token}, mutate)
}

// newHarnessWithAuth is newHarness with the given authenticator.
func newHarnessWithAuth(t *testing.T, endpoint string, a *testAuth, mutate func(*Config)) *harness {
	t.Helper()
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = endpoint
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	cfg.ClientConfig.Auth = configoptional.Some(configauth.Config{AuthenticatorID: testAuthID})
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(t, confmap.Validate(cfg))

	h := &harness{tel: componenttest.NewTelemetry(), auth: a}
	core, logs := observer.New(zapcore.DebugLevel)
	h.logs = logs
	set := exportertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = h.tel.NewTelemetrySettings()
	set.Logger = zap.New(core)
	exp, err := NewFactory().CreateTraces(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), testHost{Host: componenttest.NewNopHost(), ext: map[component.ID]component.Component{testAuthID: h.auth}}))
	t.Cleanup(func() {
		require.NoError(t, exp.Shutdown(context.Background()))
		require.NoError(t, h.tel.Shutdown(context.Background()))
	})
	h.exp = exp
	return h
}

// counter sums the data points of an int counter whose attributes include attrs.
func (h *harness) counter(t *testing.T, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	return telemetrytest.Counter(t, h.tel, name, attrs...)
}

// dropped counts spans dropped for reason, or for any reason when it is "".
func (h *harness) dropped(t *testing.T, reason string) int64 {
	if reason == "" {
		return h.counter(t, "otelcol_exporter_agent365_dropped_spans")
	}
	return h.counter(t, "otelcol_exporter_agent365_dropped_spans", attribute.String("reason", reason))
}

// gauge reads an int gauge (0 when it has no data point).
func (h *harness) gauge(t *testing.T, name string) int64 {
	t.Helper()
	return telemetrytest.Gauge(t, h.tel, name)
}

// traceBuilder builds test traces.
type traceBuilder struct {
	td     ptrace.Traces
	rs     ptrace.ResourceSpans
	ss     ptrace.ScopeSpans
	nextID byte
}

func newTraces() *traceBuilder {
	b := &traceBuilder{td: ptrace.NewTraces()}
	b.resource(map[string]any{"service.name": "my-agent"})
	return b
}

func (b *traceBuilder) resource(attrs map[string]any) *traceBuilder {
	b.rs = b.td.ResourceSpans().AppendEmpty()
	_ = b.rs.Resource().Attributes().FromRaw(attrs)
	return b.scope("Agent365Sdk", "1.0.0")
}

func (b *traceBuilder) scope(name, version string) *traceBuilder {
	b.ss = b.rs.ScopeSpans().AppendEmpty()
	b.ss.Scope().SetName(name)
	b.ss.Scope().SetVersion(version)
	return b
}

// span adds a span; attrs may override the defaults (nil removes a key).
func (b *traceBuilder) span(name, op, tenant, agent string, attrs map[string]any) *traceBuilder {
	s := b.ss.Spans().AppendEmpty()
	b.nextID++
	s.SetTraceID(pcommon.TraceID{1, b.nextID})
	s.SetSpanID(pcommon.SpanID{2, b.nextID})
	s.SetName(name)
	s.SetKind(ptrace.SpanKindClient)
	s.SetStartTimestamp(1732465014017403000)
	s.SetEndTimestamp(1732465029373357000)
	a := s.Attributes()
	if op != "" {
		a.PutStr("gen_ai.operation.name", op)
	}
	if tenant != "" {
		a.PutStr("microsoft.tenant.id", tenant)
	}
	if agent != "" {
		a.PutStr("gen_ai.agent.id", agent)
	}
	for k, v := range attrs {
		if v == nil {
			a.Remove(k)
			continue
		}
		if err := a.PutEmpty(k).FromRaw(v); err != nil {
			panic(err)
		}
	}
	return b
}

func (b *traceBuilder) build() ptrace.Traces { return b.td }

// requestIdentity reads a request's identity as authenticators do: the
// x-ms-tenant-id header and the agent segment of the path.
func requestIdentity(req *http.Request) identity {
	segs := strings.Split(req.URL.Path, "/")
	id := identity{tenant: req.Header.Get(tenantHeader)}
	for i := 0; i+2 < len(segs); i++ {
		if segs[i] == "agents" && segs[i+2] == "traces" {
			id.agent = segs[i+1]
		}
	}
	return id
}
