package sink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"

	"github.com/agent365-otel/agent365exporter/internal/payload"
	"github.com/agent365-otel/agent365exporter/internal/schema"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	tenantA = "e3064512-cc6d-4703-be71-a2ecaecaa98a"
	agent1  = "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"
	agent2  = "cccccccc-3333-4444-5555-dddddddddddd"
	token   = "sink-test-token"
)

var start = time.Unix(1732465014, 17403000)

// harness is a sink behind an httptest server.
type harness struct {
	sink   *Server
	srv    *httptest.Server
	client *http.Client
	out    string // the output file, when recording
}

// newHarness starts a sink; with record, it writes to a file in t.TempDir.
func newHarness(t *testing.T, cfg Config, record bool) *harness {
	t.Helper()
	h := &harness{}
	if record {
		h.out = filepath.Join(t.TempDir(), "spans.jsonl")
		f, err := os.Create(h.out)
		require.NoError(t, err)
		t.Cleanup(func() { _ = f.Close() })
		cfg.Output = f
	}
	h.sink = New(cfg)
	h.srv = httptest.NewServer(h.sink)
	h.client = h.srv.Client()
	h.client.Timeout = 30 * time.Second
	t.Cleanup(func() {
		h.sink.Close()
		h.srv.Close()
	})
	return h
}

// response is an answer of the sink.
type response struct {
	status int
	header http.Header
	body   string
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.body), &m), "body %q", r.body)
	return m
}

// errorMessage is the message of a JSON error answer.
func (r response) errorMessage(t *testing.T) string {
	t.Helper()
	e, ok := r.json(t)["error"].(map[string]any)
	require.True(t, ok, "no error object in %q", r.body)
	msg, _ := e["message"].(string)
	return msg
}

func (h *harness) do(t *testing.T, method, path string, body []byte, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// post sends body to an Agent 365 route with a valid token.
func (h *harness) post(t *testing.T, path string, body []byte) response {
	t.Helper()
	return h.do(t, http.MethodPost, path, body, map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json"})
}

func (h *harness) get(t *testing.T, path string) response {
	t.Helper()
	return h.do(t, http.MethodGet, path, nil, nil)
}

func (h *harness) stats(t *testing.T) Stats {
	t.Helper()
	r := h.get(t, "/_sink/stats")
	require.Equal(t, http.StatusOK, r.status)
	var st Stats
	require.NoError(t, json.Unmarshal([]byte(r.body), &st))
	return st
}

func (h *harness) report(t *testing.T) Report {
	t.Helper()
	r := h.get(t, "/_sink/report")
	require.Equal(t, http.StatusOK, r.status)
	var rep Report
	require.NoError(t, json.Unmarshal([]byte(r.body), &rep))
	return rep
}

func (h *harness) fault(t *testing.T, f string) {
	t.Helper()
	r := h.do(t, http.MethodPost, "/_sink/faults", []byte(f), nil)
	require.Equal(t, http.StatusOK, r.status, r.body)
}

// records reads the output file as it is now.
func (h *harness) records(t *testing.T) []Record {
	t.Helper()
	f, err := os.Open(h.out)
	require.NoError(t, err)
	defer f.Close()
	recs, err := ReadRecords(f)
	require.NoError(t, err)
	return recs
}

func globalPath(tenant, agent string) string {
	return "/observability/tenants/" + tenant + "/otlp/agents/" + agent + "/traces?api-version=1"
}

// spanJSON is a span in the a365 shape with attrs (nil: null).
func spanJSON(id int, attrs map[string]any) string {
	a, err := json.Marshal(attrs)
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf(`{"traceId":"%032x","spanId":"%016x","name":"span %d","kind":"CLIENT",`+
		`"startTimeUnixNano":1732465014017403000,"endTimeUnixNano":1732465029373357000,"attributes":%s,`+
		`"events":null,"links":null,"status":{"code":"UNSET","message":""}}`, id, id, id, a)
}

// bodyJSON is a body of one resource and scope holding spans.
func bodyJSON(spans ...string) []byte {
	return []byte(`{"resourceSpans":[{"resource":{"attributes":{"service.name":"test-agent"}},` +
		`"scopeSpans":[{"scope":{"name":"Agent365Sdk","version":"1.0.0"},"spans":[` + strings.Join(spans, ",") + `]}]}]}`)
}

// opSpan is a span of operation op for (tenant, agent1).
func opSpan(id int, op string) string {
	attrs := map[string]any{schema.TenantID: tenantA, schema.AgentID: agent1}
	if op != "" {
		attrs[schema.OperationName] = op
	}
	return spanJSON(id, attrs)
}

// encoded is one request body as the exporter writes it.
type encoded struct {
	tenant, agent string
	body          []byte
	resource      []byte   // the resource attributes object
	scope         Scope    // the scope
	spans         [][]byte // each span's JSON
	ops           []string
	pdata         []ptrace.Span
}

// encodeA365 writes each resource of td (sample.Traces: one agent per
// resource) as the exporter would: the a365 payload, with the identity
// named under its current keys when the span only has legacy ones.
func encodeA365(t *testing.T, td ptrace.Traces) []encoded {
	t.Helper()
	f := payload.NewA365(payload.Options{})
	var out []encoded
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		require.Equal(t, 1, rs.ScopeSpans().Len())
		ss := rs.ScopeSpans().At(0)
		e := encoded{scope: Scope{Name: ss.Scope().Name(), Version: ss.Scope().Version()}}
		layout := payload.Layout{Resource: f.AppendResourceOpen(nil, rs.Resource(), ""), Scopes: [][]byte{f.AppendScopeOpen(nil, ss.Scope(), "")}}
		raw, err := json.Marshal(rs.Resource().Attributes().AsRaw())
		require.NoError(t, err)
		e.resource = raw
		var buf []byte
		var spans []payload.Span
		for j := 0; j < ss.Spans().Len(); j++ {
			span := ss.Spans().At(j)
			attrs := span.Attributes()
			op := str(attrs, schema.OperationName)
			meta := payload.SpanMeta{Op: op}
			tenant := str(attrs, schema.TenantID)
			if tenant == "" {
				tenant = str(attrs, schema.TenantIDLegacy)
				meta.TenantID = tenant
			}
			e.tenant, e.agent = tenant, str(attrs, schema.AgentID)
			startAt := len(buf)
			buf = f.AppendSpan(buf, span, meta)
			spans = append(spans, payload.Span{Start: startAt, End: len(buf)})
			e.spans = append(e.spans, bytes.Clone(buf[startAt:]))
			e.ops = append(e.ops, op)
			e.pdata = append(e.pdata, span)
		}
		e.body = layout.AppendBody(nil, buf, spans)
		out = append(out, e)
	}
	return out
}

func str(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok {
		return v.AsString()
	}
	return ""
}

// expectedMissing applies the schema rules to pdata spans, as the
// exporter's validation does: operation -> attribute -> spans lacking it.
func expectedMissing(spans []ptrace.Span, extra map[string]string) map[string]map[string]int64 {
	out := map[string]map[string]int64{}
	for _, span := range spans {
		var p schema.Presence
		for k, v := range span.Attributes().All() {
			switch v.Type() {
			case pcommon.ValueTypeStr:
				p.Observe(k, v.Str(), strings.TrimSpace(v.Str()) == "")
			case pcommon.ValueTypeEmpty:
			default:
				p.Observe(k, "", false)
			}
		}
		for k, v := range extra {
			p.Observe(k, v, false)
		}
		p.ObserveSpan(span)
		op := schema.CanonicalOperation(str(span.Attributes(), schema.OperationName))
		if out[op] == nil {
			out[op] = map[string]int64{}
		}
		p.Missing(op, func(k string) { out[op][k]++ })
	}
	return out
}

// reportedMissing reads the same from a report.
func reportedMissing(a AgentReport) map[string]map[string]int64 {
	out := map[string]map[string]int64{}
	for _, op := range a.Operations {
		out[op.Name] = map[string]int64{}
		for _, m := range op.Missing {
			out[op.Name][m.Attribute] = m.Spans
		}
	}
	return out
}

func findAgent(t *testing.T, rep Report, tenant, agent string) AgentReport {
	t.Helper()
	for _, a := range rep.Agents {
		if a.TenantID == tenant && a.AgentID == agent {
			return a
		}
	}
	require.Failf(t, "agent not in the report", "%s/%s", tenant, agent)
	return AgentReport{}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// flushRecorder is a buffered output: it counts writes and flushes.
type flushRecorder struct {
	mu              sync.Mutex
	writes, flushes int
	data            []byte
}

func (f *flushRecorder) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	f.data = append(f.data, p...)
	return len(p), nil
}

func (f *flushRecorder) Flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flushes++
	return nil
}

func (f *flushRecorder) get() (writes, flushes int, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes, f.flushes, bytes.Clone(f.data)
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
