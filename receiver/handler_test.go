package agent365receiver

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/agent365-otel/agent365exporter/internal/payload"
)

// TestRoutes: every route the SDKs have used takes the Node SDK's body;
// the tenant comes from the path, or on the legacy routes from
// x-ms-tenant-id.
func TestRoutes(t *testing.T) {
	tr := startReceiver(t, nil)
	body := fixture(t, "node-sdk-1.0.0-fabrikam.json")
	tests := []struct {
		route, path string
		header      map[string]string
	}{
		{"observability", "/observability/tenants/{t}/otlp/agents/{a}/traces?api-version=1", nil},
		{"observability", "/observability/tenants/{t}/agents/{a}/traces?api-version=1", nil},
		{"observabilityService", "/observabilityService/tenants/{t}/otlp/agents/{a}/traces?api-version=1", nil},
		{"observabilityService", "/observabilityService/tenants/{t}/agents/{a}/traces?api-version=1", nil},
		{"maven", "/maven/agent365/agents/{a}/traces?api-version=1", map[string]string{"x-ms-tenant-id": fabrikamTenant}},
		{"maven_service", "/maven/agent365/service/agents/{a}/traces?api-version=1", map[string]string{"x-ms-tenant-id": fabrikamTenant}},
		{"maven", "/maven/agent365/agents/{a}/traces", nil}, // no tenant header: the agent alone is checked
		{"observability", "/observability/tenants/{t}/otlp/agents/{a}/traces", nil},
		// Escaped as the SDKs escape them (encodeURIComponent), and in
		// another letter case: ids are GUIDs.
		{"observability", "/observability/tenants/{T}/otlp/agents/%61aaaaaaa-0000-4000-8000-000000000002/traces?api-version=1", nil},
	}
	for i, tt := range tests {
		path := strings.NewReplacer("{t}", url.PathEscape(fabrikamTenant), "{T}", strings.ToLower(fabrikamTenant), "{a}", url.PathEscape(fabrikamAgent)).Replace(tt.path)
		t.Run(path, func(t *testing.T) {
			before := tr.pipeline.spans()
			r := tr.post(t, path, body, tt.header)
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			assert.Equal(t, `{"partialSuccess":{"rejectedSpans":0,"errorMessage":""}}`, string(r.body))
			assert.Equal(t, "application/json", r.header.Get("Content-Type"))
			assert.Equal(t, before+3, tr.pipeline.spans())
			assert.Equal(t, int64(countRoute(tests[:i+1], tt.route)), tr.sum(t, "otelcol_receiver_agent365_requests",
				attribute.String("route", tt.route), attribute.Int("status_code", 200)))
		})
	}
	calls := tr.pipeline.received()
	want, err := payload.DecodeA365(body)
	require.NoError(t, err)
	for _, c := range calls {
		assert.Equal(t, want, c.td, "the spans as the SDK sent them, which name their identity already")
	}
	assert.Equal(t, int64(3*len(tests)), tr.sum(t, "otelcol_receiver_accepted_spans"))
}

func countRoute(tests []struct {
	route, path string
	header      map[string]string
}, route string) int {
	n := 0
	for _, tt := range tests {
		if tt.route == route {
			n++
		}
	}
	return n
}

// TestRefusals: what the service would refuse is refused, with a status and
// a message that says what is wrong, and nothing reaches the pipeline.
func TestRefusals(t *testing.T) {
	tr := startReceiver(t, func(cfg *Config) { cfg.ServerConfig.MaxRequestBodySize = 10_000 })
	body := fixture(t, "node-sdk-1.0.0-fabrikam.json")
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		_, _ = w.Write(b)
		_ = w.Close()
		return buf.Bytes()
	}
	// Valid JSON of the SDK shape, 12 kB once decompressed, 100 bytes on the wire.
	padded := []byte(`{"resourceSpans":[],"pad":"` + strings.Repeat("a", 12_000) + `"}`)
	tests := []struct {
		name    string
		method  string
		path    string
		body    []byte
		header  map[string]string
		chunked bool
		status  int
		code    string
		message string
	}{
		{name: "GET", method: http.MethodGet, path: fabrikamPath(), status: 405, code: "MethodNotAllowed", message: "use POST"},
		{name: "unknown path", path: "/v1/traces", body: body, status: 404, code: "NotFound", message: "no such route; use POST /observability/tenants/{tenantId}/otlp/agents/{agentId}/traces?api-version=1"},
		{name: "path without traces", path: "/observability/tenants/t/otlp/agents/a", body: body, status: 404, code: "NotFound"},
		{name: "other api-version", path: strings.Replace(fabrikamPath(), "api-version=1", "api-version=2", 1), body: body, status: 400, code: "BadRequest",
			message: `api-version "2" is not supported; use api-version=1`},
		{name: "blank tenant", path: "/observability/tenants/%20/otlp/agents/a/traces", body: body, status: 400, code: "BadRequest", message: "the tenant id in the path is empty"},
		{name: "blank agent", path: "/maven/agent365/agents/%20/traces", body: body, status: 400, code: "BadRequest", message: "the agent id in the path is empty"},
		{name: "text/plain", path: fabrikamPath(), body: body, header: map[string]string{"Content-Type": "text/plain"}, status: 415, code: "UnsupportedMediaType",
			message: `Content-Type "text/plain" is not supported; send application/json`},
		{name: "no Content-Type", path: fabrikamPath(), body: body, header: map[string]string{"Content-Type": ""}, status: 415, code: "UnsupportedMediaType"},
		{name: "unsupported Content-Encoding", path: fabrikamPath(), body: body, header: map[string]string{"Content-Encoding": "br"}, status: 415, code: "UnsupportedMediaType",
			message: "unsupported Content-Encoding: br"},
		{name: "broken gzip", path: fabrikamPath(), body: []byte("not gzip"), header: map[string]string{"Content-Encoding": "gzip"}, status: 400, code: "BadRequest"},
		{name: "empty body", path: fabrikamPath(), status: 400, code: "BadRequest", message: "the body is empty"},
		{name: "not JSON", path: fabrikamPath(), body: []byte("resourceSpans"), status: 400, code: "BadRequest", message: "the body is not Agent 365 SDK JSON (nor OTLP/JSON)"},
		{name: "bad span id", path: fabrikamPath(), body: bytes.Replace(body, []byte(`"spanId":"`), []byte(`"spanId":"xyz`), 1), status: 400, code: "BadRequest",
			message: "resourceSpans[0].scopeSpans[0].spans[0].spanId"},
		{name: "bad protobuf", path: fabrikamPath(), body: []byte{0xff, 0xff}, header: map[string]string{"Content-Type": "application/x-protobuf"}, status: 400,
			message: "the body is not an OTLP protobuf ExportTraceServiceRequest"},
		{name: "over max_request_body_size", path: fabrikamPath(), body: bytes.Repeat([]byte(" "), 10_001), status: 413, code: "PayloadTooLarge",
			message: "the body is larger than max_request_body_size, 10000 bytes"},
		{name: "over max_request_body_size, chunked", path: fabrikamPath(), body: bytes.Repeat([]byte(" "), 10_001), chunked: true, status: 413, code: "PayloadTooLarge"},
		{name: "over max_request_body_size once decompressed", path: fabrikamPath(), body: gz(padded), header: map[string]string{"Content-Encoding": "gzip"}, status: 413, code: "PayloadTooLarge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			var r reply
			if tt.chunked {
				// An io.Reader that is not a *bytes.Reader: no Content-Length.
				r = tr.do(t, method, tt.path, struct{ *bytes.Reader }{bytes.NewReader(tt.body)}, tt.header)
			} else {
				r = tr.do(t, method, tt.path, bytes.NewReader(tt.body), tt.header)
			}
			require.Equal(t, tt.status, r.status, "%s", r.body)
			if tt.header["Content-Type"] == contentTypeProtobuf {
				var st spb.Status
				require.NoError(t, proto.Unmarshal(r.body, &st))
				assert.Equal(t, int32(codes.InvalidArgument), st.Code)
				assert.Contains(t, st.Message, tt.message)
				return
			}
			e := r.errorMessage(t)
			assert.Equal(t, tt.code, e.Error.Code)
			assert.Contains(t, e.Error.Message, tt.message)
			if tt.status == http.StatusMethodNotAllowed {
				assert.Equal(t, "POST", r.header.Get("Allow"))
			}
			assert.Empty(t, r.header.Get("Retry-After"))
		})
	}
	assert.Empty(t, tr.pipeline.received())
	assert.Equal(t, int64(2), tr.sum(t, "otelcol_receiver_agent365_requests", attribute.String("route", "unknown")))
	assert.Equal(t, int64(3), tr.sum(t, "otelcol_receiver_agent365_requests", attribute.String("route", "observability"), attribute.Int("status_code", 413)))
}

// TestFormats: the SDKs' JSON, OTLP/JSON and OTLP protobuf, plain or
// compressed, all give the same spans; protobuf clients get protobuf back.
func TestFormats(t *testing.T) {
	tr := startReceiver(t, nil)
	sdkBody := fixture(t, "node-sdk-1.0.0-contoso.json")
	want, err := payload.DecodeA365(sdkBody)
	require.NoError(t, err)
	otlpJSON, err := (&ptrace.JSONMarshaler{}).MarshalTraces(want)
	require.NoError(t, err)
	require.Contains(t, string(otlpJSON), `"attributes":[{"key":`, "OTLP/JSON holds attributes as key/value arrays")
	otlpProto, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(want)
	require.NoError(t, err)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write(sdkBody)
	require.NoError(t, w.Close())

	tests := []struct {
		name   string
		body   []byte
		header map[string]string
	}{
		{"Agent 365 SDK JSON", sdkBody, nil},
		{"Agent 365 SDK JSON with charset", sdkBody, map[string]string{"Content-Type": "application/json; charset=utf-8"}},
		{"OTLP/JSON", otlpJSON, nil},
		{"OTLP protobuf", otlpProto, map[string]string{"Content-Type": "application/x-protobuf"}},
		{"gzip", gz.Bytes(), map[string]string{"Content-Encoding": "gzip"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(tr.pipeline.received())
			r := tr.post(t, contosoPath(), tt.body, tt.header)
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			calls := tr.pipeline.received()
			require.Len(t, calls, n+1)
			assert.Equal(t, want, calls[n].td)
			if tt.header["Content-Type"] == contentTypeProtobuf {
				assert.Equal(t, contentTypeProtobuf, r.header.Get("Content-Type"))
				resp := ptraceotlp.NewExportResponse()
				require.NoError(t, resp.UnmarshalProto(r.body))
				assert.Equal(t, int64(0), resp.PartialSuccess().RejectedSpans())
				return
			}
			assert.Equal(t, partialSuccess{}, r.partialSuccess(t))
		})
	}
}

// TestNoSpans: a body without spans is answered, and nothing is consumed.
func TestNoSpans(t *testing.T) {
	tr := startReceiver(t, nil)
	for _, body := range []string{`{"resourceSpans":[]}`, `{}`, `{"resourceSpans":[{"resource":{"attributes":null},"scopeSpans":[]}]}`} {
		r := tr.post(t, contosoPath(), []byte(body), nil)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", body, r.body)
		assert.Equal(t, partialSuccess{}, r.partialSuccess(t))
	}
	assert.Empty(t, tr.pipeline.received())
}

// TestPipelineRefusals: when the pipeline refuses the spans, the answer
// tells the SDK whether to send them again: 503 (or 429) with Retry-After
// for what may pass later, 400 for what never will.
func TestPipelineRefusals(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		retryAfter string
		status     int
		wantRetry  string
		message    string
	}{
		{name: "memory_limiter", err: errors.New("data refused due to high memory usage"), status: 503, wantRetry: "5",
			message: "the collector cannot take the spans now; retry later: data refused due to high memory usage"},
		{name: "full queue", err: errors.New("sending queue is full"), status: 503, wantRetry: "5"},
		{name: "Retry-After in whole seconds, rounded up", err: errors.New("sending queue is full"), retryAfter: "2500ms", status: 503, wantRetry: "3"},
		{name: "permanent", err: consumererror.NewPermanent(errors.New("no route for these spans")), status: 400,
			message: "the collector's pipeline refused the spans: Permanent error: no route for these spans"},
		{name: "gRPC status: resource exhausted", err: status.Error(codes.ResourceExhausted, "slow down"), status: 429, wantRetry: "5", message: "slow down"},
		{name: "gRPC status: unavailable", err: status.Error(codes.Unavailable, "later"), status: 503, wantRetry: "5"},
		{name: "gRPC status: invalid argument", err: status.Error(codes.InvalidArgument, "bad"), status: 400, message: "bad"},
		{name: "gRPC status: permission denied", err: status.Error(codes.PermissionDenied, "no"), status: 403},
		{name: "gRPC status: internal", err: status.Error(codes.Internal, "broken"), status: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := startReceiver(t, func(cfg *Config) {
				if tt.retryAfter != "" {
					d, err := time.ParseDuration(tt.retryAfter)
					require.NoError(t, err)
					cfg.RetryAfter = d
				}
			})
			tr.pipeline.err = tt.err
			r := tr.post(t, fabrikamPath(), fixture(t, "node-sdk-1.0.0-fabrikam.json"), nil)
			require.Equal(t, tt.status, r.status, "%s", r.body)
			assert.Equal(t, tt.wantRetry, r.header.Get("Retry-After"))
			assert.Contains(t, r.errorMessage(t).Error.Message, tt.message)
			assert.Equal(t, int64(3), tr.sum(t, "otelcol_receiver_refused_spans")+tr.sum(t, "otelcol_receiver_failed_spans"))
			assert.Equal(t, int64(0), tr.sum(t, "otelcol_receiver_accepted_spans"))

			// Protobuf clients get the same status, and a google.rpc.Status.
			r = tr.post(t, fabrikamPath(), mustProto(t, fixture(t, "node-sdk-1.0.0-fabrikam.json")), map[string]string{"Content-Type": contentTypeProtobuf})
			require.Equal(t, tt.status, r.status)
			assert.Equal(t, tt.wantRetry, r.header.Get("Retry-After"))
			var st spb.Status
			require.NoError(t, proto.Unmarshal(r.body, &st))
			assert.Contains(t, st.Message, tt.message)
		})
	}
}

func mustProto(t *testing.T, sdkBody []byte) []byte {
	t.Helper()
	td, err := payload.DecodeA365(sdkBody)
	require.NoError(t, err)
	b, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)
	return b
}
