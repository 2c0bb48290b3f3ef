package sink

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/agent365-otel/agent365exporter/internal/sample"
)

func otlpBodies(t *testing.T, turns int) (proto, json []byte, spans int) {
	t.Helper()
	td := sample.Traces(sample.DefaultAgents, turns, start, sample.Options{MessageBytes: 100})
	req := ptraceotlp.NewExportRequestFromTraces(td)
	proto, err := req.MarshalProto()
	require.NoError(t, err)
	json, err = req.MarshalJSON()
	require.NoError(t, err)
	return proto, json, td.SpanCount()
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestOTLPRoute(t *testing.T) {
	proto, json, spans := otlpBodies(t, 5)
	require.Equal(t, 20, spans)
	tests := []struct {
		name        string
		discard     bool
		contentType string
		encoding    string
		body        []byte
	}{
		{name: "protobuf", contentType: "application/x-protobuf", body: proto},
		{name: "json", contentType: "application/json", body: json},
		{name: "gzip protobuf", contentType: "application/x-protobuf", encoding: "gzip", body: gzipped(t, proto)},
		{name: "json with charset", contentType: "application/json; charset=utf-8", body: json},
		{name: "discard protobuf", discard: true, contentType: "application/x-protobuf", body: proto},
		{name: "discard json", discard: true, contentType: "application/json", body: json},
		{name: "discard gzip", discard: true, contentType: "application/x-protobuf", encoding: "gzip", body: gzipped(t, proto)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{Discard: tt.discard, Token: token}, false)
			hdr := map[string]string{"Content-Type": tt.contentType}
			if tt.encoding != "" {
				hdr["Content-Encoding"] = tt.encoding
			}
			r := h.do(t, http.MethodPost, "/v1/traces", tt.body, hdr) // no Authorization: not needed here
			require.Equal(t, http.StatusOK, r.status, r.body)
			resp := ptraceotlp.NewExportResponse()
			if tt.contentType == "application/x-protobuf" {
				assert.Equal(t, "application/x-protobuf", r.header.Get("Content-Type"))
				require.NoError(t, resp.UnmarshalProto([]byte(r.body)))
			} else {
				assert.Equal(t, "application/json", r.header.Get("Content-Type"))
				require.NoError(t, resp.UnmarshalJSON([]byte(r.body)))
			}
			assert.Zero(t, resp.PartialSuccess().RejectedSpans())
			st := h.stats(t)
			assert.Equal(t, int64(spans), st.OTLPSpans)
			assert.Equal(t, map[string]int64{"otlp": 1}, st.RequestsByRoute)
			assert.Equal(t, int64(len(tt.body)), st.Bytes)
			assert.Zero(t, st.SpansAccepted, "Agent 365 counters are separate")
			assert.Empty(t, h.report(t).Agents)
		})
	}
}

func TestOTLPRouteErrors(t *testing.T) {
	proto, _, _ := otlpBodies(t, 1)
	h := newHarness(t, Config{MaxOTLPBodyBytes: 100_000}, false)

	r := h.do(t, http.MethodGet, "/v1/traces", nil, nil)
	assert.Equal(t, http.StatusMethodNotAllowed, r.status)
	r = h.do(t, http.MethodPost, "/v1/traces", proto, map[string]string{"Content-Type": "text/plain"})
	assert.Equal(t, http.StatusUnsupportedMediaType, r.status)
	r = h.do(t, http.MethodPost, "/v1/traces", []byte{0xff, 0xff, 0xff}, map[string]string{"Content-Type": "application/x-protobuf"})
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "application/x-protobuf", r.header.Get("Content-Type"))
	assert.Contains(t, r.body, "invalid OTLP request", "google.rpc.Status message")
	r = h.do(t, http.MethodPost, "/v1/traces", []byte(`{"resourceSpans":`), map[string]string{"Content-Type": "application/json"})
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, r.json(t)["message"], "invalid OTLP request")
	assert.Equal(t, float64(3), r.json(t)["code"])
	r = h.do(t, http.MethodPost, "/v1/traces", make([]byte, 100_001), map[string]string{"Content-Type": "application/x-protobuf"})
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.status)

	h.fault(t, `{"status":503,"times":1,"retry_after":"1"}`)
	r = h.do(t, http.MethodPost, "/v1/traces", proto, map[string]string{"Content-Type": "application/x-protobuf"})
	assert.Equal(t, http.StatusServiceUnavailable, r.status, "unfiltered faults apply to /v1/traces too")
	assert.Equal(t, "1", r.header.Get("Retry-After"))
	assert.Zero(t, h.stats(t).OTLPSpans)
}

func TestCountProtoSpans(t *testing.T) {
	for _, turns := range []int{0, 1, 7, 50} {
		td := sample.Traces(sample.DefaultAgents, turns, start, sample.Options{MessageBytes: 64})
		// A second scope, and a resource without spans.
		extra := td.ResourceSpans().AppendEmpty()
		extra.ScopeSpans().AppendEmpty().Spans()
		if turns > 0 {
			ss := td.ResourceSpans().At(0).ScopeSpans().AppendEmpty()
			ss.Scope().SetName("second")
			ss.Spans().AppendEmpty().SetName("extra")
		}
		b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		require.NoError(t, err)
		n, err := countProtoSpans(b)
		require.NoError(t, err)
		assert.Equal(t, td.SpanCount(), n, "%d turns", turns)
	}
	_, err := countProtoSpans([]byte{0x0a, 0x05, 0x01})
	assert.Error(t, err, "truncated")
	_, err = countProtoSpans([]byte{0x0b})
	assert.Error(t, err, "group wire type")
}

func TestCountJSONSpans(t *testing.T) {
	td := sample.Traces(sample.DefaultAgents, 3, start, sample.Options{})
	otlp, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)
	assert.Equal(t, 12, countJSONSpans(otlp))
	total := 0
	for _, e := range encodeA365(t, td) {
		total += countJSONSpans(e.body)
	}
	assert.Equal(t, 12, total)
}
