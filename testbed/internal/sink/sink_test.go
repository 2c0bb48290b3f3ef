package sink

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const okBody = `{"partialSuccess":{"rejectedSpans":0,"errorMessage":""}}`

func TestRoutes(t *testing.T) {
	body := bodyJSON(opSpan(1, "chat"))
	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		wantStatus int
		wantRoute  string
		wantTenant string
		wantAgent  string
		wantError  string
	}{
		{name: "observability", path: "/observability/tenants/t1/otlp/agents/a1/traces?api-version=1",
			wantStatus: 200, wantRoute: "observability", wantTenant: "t1", wantAgent: "a1"},
		{name: "observabilityService", path: "/observabilityService/tenants/t1/otlp/agents/a1/traces?api-version=1",
			wantStatus: 200, wantRoute: "observabilityService", wantTenant: "t1", wantAgent: "a1"},
		{name: "maven", path: "/maven/agent365/agents/a1/traces?api-version=1", header: map[string]string{"x-ms-tenant-id": "t2"},
			wantStatus: 200, wantRoute: "maven", wantTenant: "t2", wantAgent: "a1"},
		{name: "maven_service", path: "/maven/agent365/service/agents/a1/traces?api-version=1", header: map[string]string{"x-ms-tenant-id": "t2"},
			wantStatus: 200, wantRoute: "maven_service", wantTenant: "t2", wantAgent: "a1"},
		{name: "percent-decoded segments", path: "/observability/tenants/t%2F1/otlp/agents/a%20b%3F/traces?api-version=1",
			wantStatus: 200, wantRoute: "observability", wantTenant: "t/1", wantAgent: "a b?"},
		{name: "query keeps other parameters", path: "/observability/tenants/t1/otlp/agents/a1/traces?x=y&api-version=1",
			wantStatus: 200, wantRoute: "observability", wantTenant: "t1", wantAgent: "a1"},
		{name: "old shape without otlp", path: "/observability/tenants/t1/agents/a1/traces?api-version=1",
			wantStatus: 404, wantError: "/otlp"},
		{name: "old service shape without otlp", path: "/observabilityService/tenants/t1/agents/a1/traces?api-version=1",
			wantStatus: 404, wantError: "/otlp"},
		{name: "unknown path", path: "/v2/traces", wantStatus: 404, wantError: "no such route"},
		{name: "trailing slash", path: "/observability/tenants/t1/otlp/agents/a1/traces/?api-version=1", wantStatus: 404},
		{name: "empty tenant", path: "/observability/tenants//otlp/agents/a1/traces?api-version=1", wantStatus: 404},
		{name: "GET", method: http.MethodGet, path: "/observability/tenants/t1/otlp/agents/a1/traces?api-version=1", wantStatus: 405},
		{name: "PUT on maven", method: http.MethodPut, path: "/maven/agent365/agents/a1/traces?api-version=1", wantStatus: 405},
		{name: "no api-version", path: "/observability/tenants/t1/otlp/agents/a1/traces", wantStatus: 400, wantError: "api-version"},
		{name: "api-version 2", path: "/observability/tenants/t1/otlp/agents/a1/traces?api-version=2", wantStatus: 400, wantError: "api-version"},
		{name: "maven without tenant header", path: "/maven/agent365/agents/a1/traces?api-version=1", wantStatus: 400, wantError: "x-ms-tenant-id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{KeepRecords: true}, false)
			header := map[string]string{"Authorization": "Bearer " + token}
			for k, v := range tt.header {
				header[k] = v
			}
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			r := h.do(t, method, tt.path, body, header)
			require.Equal(t, tt.wantStatus, r.status, r.body)
			assert.Equal(t, "application/json", r.header.Get("Content-Type"))
			assert.NotEmpty(t, r.header.Get("x-ms-correlation-id"))
			if tt.wantStatus == 405 {
				assert.Equal(t, "POST", r.header.Get("Allow"))
			}
			if tt.wantError != "" {
				assert.Contains(t, r.errorMessage(t), tt.wantError)
			}
			recs := h.sink.Records()
			if tt.wantStatus != 200 {
				assert.Empty(t, recs)
				return
			}
			assert.JSONEq(t, okBody, r.body)
			require.Len(t, recs, 1)
			assert.Equal(t, tt.wantRoute, recs[0].Route)
			assert.Equal(t, tt.wantTenant, recs[0].TenantID)
			assert.Equal(t, tt.wantAgent, recs[0].AgentID)
			rep := h.sink.Report()
			require.Len(t, rep.Agents, 1)
			assert.Equal(t, map[string]int64{tt.wantRoute: 1}, rep.Agents[0].Routes)
		})
	}
}

func TestMatchRoute(t *testing.T) {
	tests := []struct {
		path            string
		want            route
		wantOK, wantOld bool
	}{
		{"/observability/tenants/t/otlp/agents/a/traces", route{name: "observability", tenant: "t", agent: "a"}, true, false},
		{"/observability/tenants/%7Bt%7D/otlp/agents/a%2Fb/traces", route{name: "observability", tenant: "{t}", agent: "a/b"}, true, false},
		{"/observability/tenants/%zz/otlp/agents/a/traces", route{}, false, false},
		{"/observability/tenants/t/otlp/agents/%/traces", route{}, false, false},
		{"/maven/agent365/agents/a/traces", route{name: "maven", agent: "a", tenantHeader: true}, true, false},
		{"/maven/agent365/service/agents/a/traces", route{name: "maven_service", agent: "a", tenantHeader: true}, true, false},
		{"/maven/agent365/agents//traces", route{name: "maven", tenantHeader: true}, false, false},
		{"/observability/tenants/t/agents/a/traces", route{}, false, true},
		{"/observabilityService/tenants/t/agents/a/traces", route{}, false, true},
		{"/Observability/tenants/t/otlp/agents/a/traces", route{}, false, false},
		{"/observability/tenants/t/otlp/agents/a/traces/x", route{}, false, false},
		{"//observability/tenants/t/otlp/agents/a/traces", route{}, false, false},
	}
	for _, tt := range tests {
		got, ok, old := matchRoute(tt.path)
		assert.Equal(t, tt.wantOK, ok, tt.path)
		assert.Equal(t, tt.wantOld, old, tt.path)
		if ok {
			assert.Equal(t, tt.want, got, tt.path)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	const limit = 4096
	h := newHarness(t, Config{MaxBodyBytes: limit}, false)
	body := bodyJSON(opSpan(1, "chat"))
	pad := func(n int) []byte { return append(bytes.Clone(body), bytes.Repeat([]byte(" "), n-len(body))...) }

	r := h.post(t, globalPath(tenantA, agent1), pad(limit))
	assert.Equal(t, http.StatusOK, r.status, "a body of exactly the limit is accepted")
	r = h.post(t, globalPath(tenantA, agent1), pad(limit+1))
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.status)
	assert.Contains(t, r.errorMessage(t), "4096")

	// The limit comes before authentication.
	r = h.do(t, http.MethodPost, globalPath(tenantA, agent1), pad(limit+1), nil)
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.status)

	// Decompressed bodies are held to the limit too.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(pad(limit + 1))
	require.NoError(t, zw.Close())
	require.Less(t, gz.Len(), limit)
	r = h.do(t, http.MethodPost, globalPath(tenantA, agent1), gz.Bytes(),
		map[string]string{"Authorization": "Bearer x", "Content-Encoding": "gzip"})
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.status)

	st := h.stats(t)
	assert.Equal(t, map[string]int64{"200": 1, "413": 3}, st.RequestsByStatus)
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestBodyLimitReadsAtMostLimitPlusOne(t *testing.T) {
	const limit = 1000
	s := New(Config{MaxBodyBytes: limit})
	body := &countingReader{r: bytes.NewReader(bytes.Repeat([]byte("x"), 100_000))}
	req := httptest.NewRequest(http.MethodPost, globalPath(tenantA, agent1), body)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	assert.Equal(t, limit+1, body.n)
}

func TestDefaultBodyLimit(t *testing.T) {
	s := New(Config{})
	for _, n := range []int{DefaultMaxBodyBytes, DefaultMaxBodyBytes + 1} {
		req := httptest.NewRequest(http.MethodPost, globalPath(tenantA, agent1), bytes.NewReader(bytes.Repeat([]byte(" "), n)))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if n > DefaultMaxBodyBytes {
			assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
		} else {
			assert.Equal(t, http.StatusUnauthorized, rec.Code, "1,048,576 bytes pass the limit")
		}
	}
}

func TestAuth(t *testing.T) {
	body := bodyJSON(opSpan(1, "chat"))
	tests := []struct {
		name       string
		configured string
		header     string
		wantStatus int
		wantWWW    string
	}{
		{name: "missing", header: "", wantStatus: 401, wantWWW: "Bearer"},
		{name: "basic", header: "Basic dXNlcjpwYXNz", wantStatus: 401, wantWWW: "Bearer"},
		{name: "bearer without token", header: "Bearer ", wantStatus: 401, wantWWW: "Bearer"},
		{name: "scheme only", header: "Bearer", wantStatus: 401, wantWWW: "Bearer"},
		{name: "any token when none configured", header: "Bearer whatever", wantStatus: 200},
		{name: "scheme is case-insensitive", header: "bearer whatever", wantStatus: 200},
		{name: "configured token", configured: token, header: "Bearer " + token, wantStatus: 200},
		{name: "wrong token", configured: token, header: "Bearer other", wantStatus: 401, wantWWW: `Bearer error="invalid_token"`},
		{name: "token prefix", configured: token, header: "Bearer " + token[:5], wantStatus: 401, wantWWW: `Bearer error="invalid_token"`},
		{name: "missing with configured token", configured: token, header: "", wantStatus: 401, wantWWW: "Bearer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{Token: tt.configured}, false)
			header := map[string]string{}
			if tt.header != "" {
				header["Authorization"] = tt.header
			}
			r := h.do(t, http.MethodPost, globalPath(tenantA, agent1), body, header)
			require.Equal(t, tt.wantStatus, r.status, r.body)
			assert.Equal(t, tt.wantWWW, r.header.Get("WWW-Authenticate"))
			if tt.wantStatus == 401 {
				assert.NotEmpty(t, r.errorMessage(t))
				assert.Zero(t, h.sink.Report().Spans, "nothing is recorded")
			}
		})
	}
}

func TestAuthComesBeforeBodyChecks(t *testing.T) {
	h := newHarness(t, Config{}, false)
	r := h.do(t, http.MethodPost, globalPath(tenantA, agent1), []byte("not json"), nil)
	assert.Equal(t, http.StatusUnauthorized, r.status)
	r = h.do(t, http.MethodPost, "/observability/tenants/t/otlp/agents/a/traces", []byte("{}"), nil)
	assert.Equal(t, http.StatusUnauthorized, r.status, "auth before api-version")
}

// TestInvalidBody: a body neither OTLP/JSON nor the SDKs' shape gets 400
// with the decoder's message, which names where the body is wrong.
func TestInvalidBody(t *testing.T) {
	const prefix = "the body is not Agent 365 SDK JSON (nor OTLP/JSON): "
	span := func(fields string) string {
		return `{"resourceSpans":[{"scopeSpans":[{"spans":[{` + fields + `,"kind":"CLIENT"}]}]}]}`
	}
	tests := []struct {
		name, body, want string
	}{
		{"empty", "", `the body is empty; send {"resourceSpans":[...]}`},
		{"blank", " \n", `the body is empty; send {"resourceSpans":[...]}`},
		{"not JSON", "hello", prefix + "want an object, got an invalid character at offset 0"},
		{"truncated", `{"resourceSpans":[`, prefix + "resourceSpans[0]: want an object, got the end of input at offset 18"},
		{"array", `[]`, prefix + "want an object, got an array at offset 0"},
		{"resourceSpans is a string", `{"resourceSpans":"x"}`, prefix + "resourceSpans: want an array, got a string at offset 17"},
		{"span is not an object", `{"resourceSpans":[{"scopeSpans":[{"spans":[1]}]}]}`,
			prefix + "resourceSpans[0].scopeSpans[0].spans[0]: want an object, got a number at offset 43"},
		{"attributes is a string", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":"x"}]}]}]}`,
			prefix + "resourceSpans[0].scopeSpans[0].spans[0].attributes: want an object, got a string at offset 57"},
		{"bad OTLP/JSON", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","attributes":[]}]}]}]}`,
			prefix + `resourceSpans[0].scopeSpans[0].spans[0].traceId: "zz" is not 32 hex digits`},
		{"trailing data", string(bodyJSON(opSpan(1, "chat"))) + " x", prefix + "data after the body"},
		{"traceId not hex", span(`"traceId":"4bd8f606688c3f3347d69c1b6539c95x","spanId":"0766d68605234692"`),
			`spans[0].traceId: "4bd8f606688c3f3347d69c1b6539c95x" is not 32 hex digits`},
		{"spanId too short", span(`"traceId":"4bd8f606688c3f3347d69c1b6539c957","spanId":"0766d6860523469"`),
			`spans[0].spanId: "0766d6860523469" is not 16 hex digits`},
		{"traceId all zeros", span(`"traceId":"00000000000000000000000000000000","spanId":"0766d68605234692"`),
			"spans[0].traceId: an all-zero id is not valid"},
		{"spanId missing", span(`"traceId":"4bd8f606688c3f3347d69c1b6539c957"`), "spans[0]: spanId is missing"},
		{"time not a number", span(`"traceId":"4bd8f606688c3f3347d69c1b6539c957","spanId":"0766d68605234692","startTimeUnixNano":"soon"`),
			`spans[0].startTimeUnixNano: "soon" is not a number of nanoseconds`},
		{"unknown kind", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"4bd8f606688c3f3347d69c1b6539c957","spanId":"0766d68605234692","kind":"SIDEWAYS"}]}]}]}`,
			`spans[0].kind: "SIDEWAYS" is not a span kind`},
		{"duplicate key", span(`"traceId":"4bd8f606688c3f3347d69c1b6539c957","spanId":"0766d68605234692","spanId":"0766d68605234693"`),
			`duplicate key "spanId"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{}, true)
			r := h.post(t, globalPath(tenantA, agent1), []byte(tt.body))
			require.Equal(t, http.StatusBadRequest, r.status, r.body)
			assert.Equal(t, "application/json", r.header.Get("Content-Type"))
			assert.Contains(t, r.errorMessage(t), tt.want)
			assert.Contains(t, r.body, `"code":"InvalidPayload"`)
			assert.Empty(t, h.records(t))
			assert.Zero(t, h.report(t).Requests, "a refused body is not in the report")
		})
	}
}

// TestBodyWithoutSpans: a body that holds no span is read as such, as the
// receiver reads it: 200, nothing recorded.
func TestBodyWithoutSpans(t *testing.T) {
	for _, body := range []string{`{}`, `{"resourceSpans":null}`, `{"resourceSpans":[]}`, `{"resourceSpans":[{"scopeSpans":[{"spans":[]}]}]}`} {
		t.Run(body, func(t *testing.T) {
			h := newHarness(t, Config{}, true)
			r := h.post(t, globalPath(tenantA, agent1), []byte(body))
			require.Equal(t, http.StatusOK, r.status, r.body)
			assert.Equal(t, okBody, r.body)
			assert.Empty(t, h.records(t))
			rep := h.report(t)
			assert.Equal(t, int64(1), rep.Requests)
			assert.Zero(t, rep.Spans)
		})
	}
}

func TestPartialSuccess(t *testing.T) {
	tests := []struct {
		name         string
		ops          []string
		wantRejected int
		wantMessage  []string
	}{
		{name: "all accepted", ops: []string{"invoke_agent", "execute_tool", "output_messages", "chat", "Chat", "TextCompletion", "GenerateContent", "apply_guardrail"}},
		{name: "chat in any case", ops: []string{"CHAT", "cHaT"}},
		{name: "unknown operations", ops: []string{"chat", "http.request", "http.request", "textcompletion", ""}, wantRejected: 4,
			wantMessage: []string{"4 of 5 spans rejected", `"http.request" is not an accepted operation (2 spans)`,
				`"textcompletion" is not an accepted operation (1 span)`, "gen_ai.operation.name is missing (1 span)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{}, true)
			spans := make([]string, len(tt.ops))
			for i, op := range tt.ops {
				spans[i] = opSpan(i+1, op)
			}
			r := h.post(t, globalPath(tenantA, agent1), bodyJSON(spans...))
			require.Equal(t, http.StatusOK, r.status, r.body)
			assert.Equal(t, "application/json", r.header.Get("Content-Type"))
			var got struct {
				PartialSuccess struct {
					RejectedSpans int    `json:"rejectedSpans"`
					ErrorMessage  string `json:"errorMessage"`
				} `json:"partialSuccess"`
			}
			require.NoError(t, json.Unmarshal([]byte(r.body), &got))
			assert.Equal(t, tt.wantRejected, got.PartialSuccess.RejectedSpans)
			if tt.wantRejected == 0 {
				assert.Equal(t, okBody, r.body, "exact body")
			}
			for _, m := range tt.wantMessage {
				assert.Contains(t, got.PartialSuccess.ErrorMessage, m)
			}
			assert.Len(t, h.records(t), len(tt.ops)-tt.wantRejected, "rejected spans are not recorded")
			st := h.stats(t)
			assert.Equal(t, int64(len(tt.ops)-tt.wantRejected), st.SpansAccepted)
			assert.Equal(t, int64(tt.wantRejected), st.SpansRejected)
			assert.Equal(t, int64(len(tt.ops)-tt.wantRejected), st.SpansRecorded)
		})
	}
}

func TestNonStringOperationIsRejected(t *testing.T) {
	h := newHarness(t, Config{}, false)
	r := h.post(t, globalPath(tenantA, agent1), bodyJSON(spanJSON(1, map[string]any{"gen_ai.operation.name": 5})))
	require.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.body, `"rejectedSpans":1`)
	assert.Contains(t, r.body, "is not a string")
	assert.Equal(t, map[string]int64{"5": 1}, h.sink.Report().Agents[0].RejectedOperations)
}

func TestContentEncoding(t *testing.T) {
	body := bodyJSON(opSpan(1, "chat"), opSpan(2, "nope"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(body)
	require.NoError(t, zw.Close())

	h := newHarness(t, Config{}, false)
	hdr := map[string]string{"Authorization": "Bearer x", "Content-Encoding": "gzip"}
	r := h.do(t, http.MethodPost, globalPath(tenantA, agent1), gz.Bytes(), hdr)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Contains(t, r.body, `"rejectedSpans":1`)
	assert.Equal(t, int64(gz.Len()), h.stats(t).Bytes, "bytes as received")

	hdr["Content-Encoding"] = "br"
	r = h.do(t, http.MethodPost, globalPath(tenantA, agent1), body, hdr)
	assert.Equal(t, http.StatusUnsupportedMediaType, r.status)
	hdr["Content-Encoding"] = "gzip"
	r = h.do(t, http.MethodPost, globalPath(tenantA, agent1), body, hdr)
	assert.Equal(t, http.StatusBadRequest, r.status, "not gzip")
}

func TestDiscard(t *testing.T) {
	h := newHarness(t, Config{Discard: true, KeepRecords: true}, true)
	r := h.post(t, globalPath(tenantA, agent1), bodyJSON(opSpan(1, "chat"), opSpan(2, "invoke_agent"), opSpan(3, "unknown")))
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, okBody, r.body)
	r = h.post(t, globalPath(tenantA, agent1), []byte("not even JSON"))
	assert.Equal(t, http.StatusOK, r.status, "discard does not decode")
	r = h.do(t, http.MethodPost, globalPath(tenantA, agent1), bodyJSON(), nil)
	assert.Equal(t, http.StatusUnauthorized, r.status, "auth still applies")

	st := h.stats(t)
	assert.Equal(t, int64(3), st.SpansAccepted)
	assert.Zero(t, st.SpansRecorded)
	assert.Empty(t, h.records(t))
	assert.Empty(t, h.sink.Records())
	assert.Empty(t, h.report(t).Agents)
}

func TestConcurrentRequestsWriteWholeLines(t *testing.T) {
	h := newHarness(t, Config{}, true)
	const workers, requests, spansPer = 8, 10, 5
	var wg sync.WaitGroup
	statuses := make(chan int, workers*requests)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range requests {
				spans := make([]string, spansPer)
				for j := range spansPer {
					spans[j] = opSpan(w*10000+i*100+j+1, "chat") // ids from 1: all zeros is no id
				}
				req, err := http.NewRequest(http.MethodPost, h.srv.URL+globalPath(tenantA, agent1), bytes.NewReader(bodyJSON(spans...)))
				if err != nil {
					statuses <- -1
					continue
				}
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := h.client.Do(req)
				if err != nil {
					statuses <- -1
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				statuses <- resp.StatusCode
			}
		}()
	}
	wg.Wait()
	close(statuses)
	for st := range statuses {
		require.Equal(t, http.StatusOK, st)
	}

	recs := h.records(t)
	require.Len(t, recs, workers*requests*spansPer)
	seen := map[string]bool{}
	for _, r := range recs {
		var s struct {
			SpanID string `json:"spanId"`
		}
		require.NoError(t, json.Unmarshal(r.Span, &s))
		assert.False(t, seen[s.SpanID], "span %s twice", s.SpanID)
		seen[s.SpanID] = true
	}
	st := h.stats(t)
	assert.Equal(t, int64(workers*requests*spansPer), st.SpansRecorded)
	assert.Equal(t, int64(workers*requests), st.Requests)
}

func TestControlAPI(t *testing.T) {
	h := newHarness(t, Config{}, false)
	r := h.get(t, "/_sink/healthz")
	assert.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"status":"ok"}`, r.body)

	r = h.get(t, "/_sink/nope")
	assert.Equal(t, http.StatusNotFound, r.status)
	r = h.do(t, http.MethodPost, "/_sink/stats", nil, nil)
	assert.Equal(t, http.StatusMethodNotAllowed, r.status)
	assert.Equal(t, "GET", r.header.Get("Allow"))
	r = h.get(t, "/_sink/reset")
	assert.Equal(t, http.StatusMethodNotAllowed, r.status)

	r = h.get(t, "/_sink/report.txt")
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "text/plain; charset=utf-8", r.header.Get("Content-Type"))
	assert.Contains(t, r.body, "no spans received")

	assert.Zero(t, h.stats(t).Requests, "control requests are not counted")
}

func TestStatsAndReset(t *testing.T) {
	h := newHarness(t, Config{KeepRecords: true}, false)
	body := bodyJSON(opSpan(1, "chat"), opSpan(2, "invoke_agent"), opSpan(3, "nope"))
	require.Equal(t, 200, h.post(t, globalPath(tenantA, agent1), body).status)
	r := h.do(t, http.MethodPost, "/maven/agent365/agents/"+agent1+"/traces?api-version=1", body,
		map[string]string{"Authorization": "Bearer x", "x-ms-tenant-id": tenantA})
	require.Equal(t, 200, r.status)
	require.Equal(t, 401, h.do(t, http.MethodPost, globalPath(tenantA, agent1), body, nil).status)
	require.Equal(t, 404, h.post(t, "/nowhere", body).status)
	h.fault(t, `{"status":503,"times":1}`)
	require.Equal(t, 503, h.post(t, globalPath(tenantA, agent1), body).status)

	st := h.stats(t)
	assert.Equal(t, Stats{
		Requests:         5,
		RequestsByStatus: map[string]int64{"200": 2, "401": 1, "404": 1, "503": 1},
		RequestsByRoute:  map[string]int64{"observability": 3, "maven": 1, "unknown": 1},
		FaultsApplied:    1,
		SpansAccepted:    4,
		SpansRejected:    2,
		SpansRecorded:    4,
		Bytes:            int64(4 * len(body)),
	}, st)
	rep := h.report(t)
	assert.Equal(t, int64(2), rep.Requests)
	assert.Equal(t, int64(6), rep.Spans)
	assert.Equal(t, int64(2), rep.Rejected)
	require.Len(t, rep.Agents, 1)
	assert.Equal(t, map[string]int64{"observability": 1, "maven": 1}, rep.Agents[0].Routes)
	assert.Len(t, h.sink.Records(), 4)

	r = h.do(t, http.MethodPost, "/_sink/reset", nil, nil)
	require.Equal(t, http.StatusOK, r.status)
	st = h.stats(t)
	assert.Zero(t, st.Requests)
	assert.Empty(t, st.RequestsByStatus)
	assert.Zero(t, st.SpansAccepted)
	assert.Empty(t, h.report(t).Agents)
	assert.Empty(t, h.sink.Records())
}
