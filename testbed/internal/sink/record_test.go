package sink

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/payload"
	"github.com/agent365-otel/agent365exporter/internal/sample"
)

func TestRecordsA365SpansExactly(t *testing.T) {
	received := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	h := newHarness(t, Config{Token: token, Now: func() time.Time { return received }}, true)
	bodies := encodeA365(t, sample.Traces(sample.DefaultAgents, 6, start, sample.Options{MessageBytes: 300}))
	require.Len(t, bodies, 3)

	var want []encoded
	for i, b := range bodies {
		r := h.post(t, globalPath(b.tenant, b.agent), b.body)
		require.Equal(t, http.StatusOK, r.status, r.body)
		assert.Equal(t, okBody, r.body)
		want = append(want, b)
		// The file is complete after every request, while the sink runs.
		n := 0
		for _, w := range want {
			n += len(w.spans)
		}
		require.Len(t, h.records(t), n, "after request %d", i)
	}

	recs := h.records(t)
	k := 0
	for _, b := range want {
		for _, span := range b.spans {
			rec := recs[k]
			k++
			assert.Equal(t, string(span), string(rec.Span), "the span as received, byte for byte")
			assert.Equal(t, received, rec.ReceivedAt)
			assert.Equal(t, "observability", rec.Route)
			assert.Equal(t, b.tenant, rec.TenantID)
			assert.Equal(t, b.agent, rec.AgentID)
			assert.Equal(t, FormatA365, rec.Format)
			assert.JSONEq(t, string(b.resource), string(rec.Resource))
			assert.Equal(t, Scope{Name: "Agent365Sdk", Version: "1.0.0"}, rec.Scope)
		}
	}

	// The raw line format.
	data := readFile(t, h.out)
	first, _, _ := bytes.Cut(data, []byte("\n"))
	var line map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(first, &line))
	assert.Equal(t, `"2026-03-01T12:00:00.123456789Z"`, string(line["received_at"]))
	assert.Equal(t, `"a365"`, string(line["format"]))
	assert.Equal(t, `{"name":"Agent365Sdk","version":"1.0.0"}`, string(line["scope"]))
	assert.Equal(t, string(want[0].spans[0]), string(line["span"]))
	assert.NotContains(t, string(data), `\u003c`, "no HTML escaping")
}

func TestRecordKeepsUnusualJSONIntact(t *testing.T) {
	h := newHarness(t, Config{}, true)
	span := spanJSON(1, map[string]any{
		"gen_ai.operation.name": "chat", "html": "<b>&</b>", "unicode": "é ✓ 😀", "n": 1.5e300, "big": uint64(18446744073709551615),
	})
	r := h.post(t, globalPath(tenantA, agent1), bodyJSON(span))
	require.Equal(t, http.StatusOK, r.status, r.body)
	recs := h.records(t)
	require.Len(t, recs, 1)
	assert.Equal(t, span, string(recs[0].Span))
}

func TestPrettyPrintedBodyIsRecordedOnOneLine(t *testing.T) {
	h := newHarness(t, Config{KeepRecords: true}, true)
	var pretty bytes.Buffer
	require.NoError(t, json.Indent(&pretty, bodyJSON(opSpan(1, "chat"), opSpan(2, "chat")), "", "  "))
	require.Equal(t, http.StatusOK, h.post(t, globalPath(tenantA, agent1), pretty.Bytes()).status)
	recs := h.records(t)
	require.Len(t, recs, 2)
	assert.Equal(t, opSpan(2, "chat"), string(recs[1].Span), "compacted")
	assert.Equal(t, 2, bytes.Count(readFile(t, h.out), []byte("\n")))
	kept := h.sink.Records()
	require.Len(t, kept, 2)
	assert.Equal(t, recs[1].Span, kept[1].Span, "kept records are compacted too")
	assert.Equal(t, recs[1].Resource, kept[1].Resource)
}

func TestOTLPJSONBody(t *testing.T) {
	td := sample.Traces(sample.DefaultAgents[:1], 3, start, sample.Options{MessageBytes: 200, Omit: []string{"user.email"}})
	otlp, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)
	require.Contains(t, string(otlp), `"stringValue"`, "protojson attributes")
	a365 := encodeA365(t, td)
	require.Len(t, a365, 1)
	ag := sample.DefaultAgents[0]

	h := newHarness(t, Config{KeepRecords: true}, true)
	r := h.post(t, globalPath(ag.TenantID, ag.AgentID), otlp)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, okBody, r.body)

	recs := h.records(t)
	require.Len(t, recs, len(a365[0].spans))
	f := payload.NewA365(payload.Options{})
	for i, rec := range recs {
		assert.Equal(t, FormatOTLPJSON, rec.Format)
		assert.Equal(t, string(f.AppendSpan(nil, a365[0].pdata[i], payload.SpanMeta{})), string(rec.Span), "converted to the a365 shape")
		assert.JSONEq(t, string(a365[0].resource), string(rec.Resource))
		assert.Equal(t, Scope{Name: "Agent365Sdk", Version: "1.0.0"}, rec.Scope)
	}

	// The report is the same as for the a365 body.
	otlpReport := h.report(t)
	h2 := newHarness(t, Config{}, false)
	require.Equal(t, http.StatusOK, h2.post(t, globalPath(ag.TenantID, ag.AgentID), a365[0].body).status)
	assert.Equal(t, h2.report(t), otlpReport)
	assert.Equal(t, map[string]int64{"user.email": 3}, reportedMissing(otlpReport.Agents[0])["invoke_agent"])
}

func TestOTLPJSONRejectsUnknownOperations(t *testing.T) {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i, op := range []string{"chat", "GET /", ""} {
		s := spans.AppendEmpty()
		s.SetSpanID([8]byte{byte(i + 1)})
		s.SetTraceID([16]byte{1})
		if op != "" {
			s.Attributes().PutStr("gen_ai.operation.name", op)
		}
		s.Attributes().PutStr("microsoft.tenant.id", tenantA)
	}
	body, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)
	h := newHarness(t, Config{}, true)
	r := h.post(t, globalPath(tenantA, agent1), body)
	require.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.body, `"rejectedSpans":2`)
	assert.Len(t, h.records(t), 1)
}

func TestFormatDetection(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"object attributes", string(bodyJSON(opSpan(1, "chat"))), FormatA365},
		{"null attributes everywhere", string(bodyJSON(spanJSON(1, nil))), FormatA365},
		{"array attributes", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01000000000000000000000000000000","spanId":"0100000000000000",` +
			`"attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}}]}]}]}]}`, FormatOTLPJSON},
		{"array resource attributes only", `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"x"}}]},` +
			`"scopeSpans":[{"spans":[{"traceId":"01000000000000000000000000000000","spanId":"0100000000000000"}]}]}]}`, FormatOTLPJSON},
		{"no attributes, string times", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01000000000000000000000000000000",` +
			`"spanId":"0100000000000000","startTimeUnixNano":"1","kind":2}]}]}]}`, FormatOTLPJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spans, format, err := decodeBody([]byte(tt.body))
			require.NoError(t, err)
			assert.Equal(t, tt.want, format)
			assert.Len(t, spans, 1)
		})
	}
}

func TestShapeProblemsAreReported(t *testing.T) {
	h := newHarness(t, Config{}, false)
	bad := `{"traceId":"ABC","spanId":"0766d68605234692","parentSpanId":"","name":"x","kind":"SPAN_KIND_CLIENT",` +
		`"startTimeUnixNano":1.5e18,"endTimeUnixNano":1732465029373357000,"attributes":{"gen_ai.operation.name":"chat"}}`
	r := h.post(t, globalPath(tenantA, agent1), bodyJSON(bad, opSpan(2, "chat")))
	require.Equal(t, http.StatusOK, r.status, "shape problems are reported, not rejected")
	a := h.report(t).Agents[0]
	assert.Equal(t, []ShapeProblem{
		{Problem: "kind is not one of INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER, UNSPECIFIED", Spans: 1},
		{Problem: "parentSpanId is not 16 lower-case hex digits (leave it out when there is no parent)", Spans: 1},
		{Problem: "startTimeUnixNano is not an unsigned JSON integer", Spans: 1},
		{Problem: "status is missing", Spans: 1},
		{Problem: "traceId is not 32 lower-case hex digits", Spans: 1},
	}, a.ShapeProblems)
}

func TestReadRecords(t *testing.T) {
	recs, err := ReadRecords(bytes.NewReader([]byte(`{"route":"maven","span":{"a":1}}` + "\n\n" + `{"route":"x"}`)))
	require.NoError(t, err)
	require.Len(t, recs, 2)
	assert.Equal(t, "maven", recs[0].Route)
	assert.JSONEq(t, `{"a":1}`, string(recs[0].Span))
	_, err = ReadRecords(bytes.NewReader([]byte("{\n")))
	assert.ErrorContains(t, err, "line 1")
}

func TestWriteFlushesBufferedOutput(t *testing.T) {
	var sinkBuf flushRecorder
	h := newHarness(t, Config{Output: &sinkBuf}, false)
	require.Equal(t, http.StatusOK, h.post(t, globalPath(tenantA, agent1), bodyJSON(opSpan(1, "chat"), opSpan(2, "chat"))).status)
	require.Equal(t, http.StatusOK, h.post(t, globalPath(tenantA, agent1), bodyJSON(opSpan(3, "chat"))).status)
	writes, flushes, data := sinkBuf.get()
	assert.Equal(t, 2, writes, "one write per request")
	assert.Equal(t, 2, flushes, "one flush per request")
	assert.Equal(t, 3, bytes.Count(data, []byte("\n")))
}

func TestRecordErrorsAreCounted(t *testing.T) {
	h := newHarness(t, Config{Output: failingWriter{}}, false)
	r := h.post(t, globalPath(tenantA, agent1), bodyJSON(opSpan(1, "chat")))
	assert.Equal(t, http.StatusOK, r.status, "the service accepted the spans")
	st := h.stats(t)
	assert.Equal(t, int64(1), st.RecordErrors)
	assert.Zero(t, st.SpansRecorded)
}
