package sink

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
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

// TestRecordIsTheSpanAsTheExporterWritesIt: a span sent in a form the
// decoder reads but the exporter does not write is recorded as the
// exporter's encoder writes the decoded span.
func TestRecordIsTheSpanAsTheExporterWritesIt(t *testing.T) {
	tests := []struct {
		name, span, want string
	}{
		{
			name: "escapes, numbers and key order",
			span: `{"spanId":"0000000000000001","traceId":"00000000000000000000000000000001","name":"span \u0031","kind":"CLIENT",` +
				`"startTimeUnixNano":1732465014017403000,"endTimeUnixNano":1732465029373357000,` +
				`"attributes":{"gen_ai.operation.name":"chat","html":"\u003cb\u003e\u0026\u003c/b\u003e","unicode":"\u00e9 ✓ 😀",` +
				`"n":1.5e300,"one":1.0,"big":18446744073709551615,"none":null},"status":{"code":"UNSET","message":""}}`,
			want: `{"traceId":"00000000000000000000000000000001","spanId":"0000000000000001","name":"span 1","kind":"CLIENT",` +
				`"startTimeUnixNano":1732465014017403000,"endTimeUnixNano":1732465029373357000,` +
				`"attributes":{"gen_ai.operation.name":"chat","html":"<b>&</b>","unicode":"é ✓ 😀",` +
				`"n":1.5e+300,"one":1.0,"big":1.8446744073709552e+19,"none":null},"events":null,"links":null,"status":{"code":"UNSET","message":""}}`,
		},
		{
			name: "lenient fields",
			span: `{"traceId":"4BD8F606688C3F3347D69C1B6539C957","spanId":"0766D68605234692","parentSpanId":"","name":"s","kind":"span_kind_server",` +
				`"startTimeUnixNano":"1732465014017403000","endTimeUnixNano":1.7324650293733570e18,"attributes":{"gen_ai.operation.name":"chat"},` +
				`"events":[],"links":[]}`,
			want: `{"traceId":"4bd8f606688c3f3347d69c1b6539c957","spanId":"0766d68605234692","name":"s","kind":"SERVER",` +
				`"startTimeUnixNano":1732465014017403000,"endTimeUnixNano":1732465029373357000,"attributes":{"gen_ai.operation.name":"chat"},` +
				`"events":null,"links":null,"status":{"code":"UNSET","message":""}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{KeepRecords: true}, true)
			r := h.post(t, globalPath(tenantA, agent1), bodyJSON(tt.span))
			require.Equal(t, http.StatusOK, r.status, r.body)
			recs := h.records(t)
			require.Len(t, recs, 1)
			assert.Equal(t, tt.want, string(recs[0].Span))
			assert.Equal(t, tt.want, string(h.sink.Records()[0].Span), "the kept record too")

			// The record is a body's span the decoder reads back to the same span.
			td, err := payload.DecodeA365(bodyJSON(tt.want))
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(payload.NewA365(payload.Options{}).AppendSpan(nil, td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0), payload.SpanMeta{})))
		})
	}
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

// TestOTLPJSONRecordIsTheA365Shape: an OTLP/JSON span is recorded as the
// exporter writes it, an unnamed scope as "unknown" and a resource without
// attributes as null.
func TestOTLPJSONRecordIsTheA365Shape(t *testing.T) {
	td := ptrace.NewTraces()
	span := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetTraceID(pcommon.TraceID{0xab})
	span.SetSpanID(pcommon.SpanID{0xcd})
	span.SetKind(ptrace.SpanKindServer)
	span.SetStartTimestamp(1)
	span.SetEndTimestamp(2)
	span.Attributes().PutStr("gen_ai.operation.name", "chat")
	span.Attributes().PutEmptyBytes("blob").FromRaw([]byte("hi"))
	body, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)

	h := newHarness(t, Config{}, true)
	require.Equal(t, http.StatusOK, h.post(t, globalPath(tenantA, agent1), body).status)
	recs := h.records(t)
	require.Len(t, recs, 1)
	assert.Equal(t, FormatOTLPJSON, recs[0].Format)
	assert.Equal(t, Scope{Name: "unknown"}, recs[0].Scope)
	assert.Equal(t, "null", string(recs[0].Resource))
	assert.Equal(t, `{"traceId":"ab000000000000000000000000000000","spanId":"cd00000000000000","name":"","kind":"SERVER",`+
		`"startTimeUnixNano":1,"endTimeUnixNano":2,"attributes":{"gen_ai.operation.name":"chat","blob":"aGk="},`+
		`"events":null,"links":null,"status":{"code":"UNSET","message":""}}`, string(recs[0].Span))
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
		// A body both decoders read is OTLP/JSON, as the receiver reads it.
		{"ids only", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01000000000000000000000000000000","spanId":"0100000000000000"}]}]}]}`, FormatOTLPJSON},
		{"a365 kind name, no attributes", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01000000000000000000000000000000",` +
			`"spanId":"0100000000000000","kind":"CLIENT"}]}]}]}`, FormatA365},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td, format, err := decodeBody([]byte(tt.body))
			require.NoError(t, err)
			assert.Equal(t, tt.want, format)
			assert.Equal(t, 1, td.SpanCount())
		})
	}
}

// TestShapeProblemsAreReported: deviations from the exporter's shape that
// the decoder reads all the same are reported per span, not rejected.
func TestShapeProblemsAreReported(t *testing.T) {
	const (
		kindProblem   = "kind is not one of INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER, UNSPECIFIED"
		parentProblem = "parentSpanId is not 16 lower-case hex digits (leave it out when there is no parent)"
		startProblem  = "startTimeUnixNano is not an unsigned JSON integer"
		endProblem    = "endTimeUnixNano is not an unsigned JSON integer"
		statusMissing = "status is missing"
		statusProblem = "status.code is not one of UNSET, OK, ERROR"
		traceProblem  = "traceId is not 32 lower-case hex digits"
		spanProblem   = "spanId is not 16 lower-case hex digits"
	)
	const attrs = `"attributes":{"gen_ai.operation.name":"chat"}`
	tests := []struct {
		name  string
		spans []string
		want  []ShapeProblem
	}{
		{
			name: "several problems in one span",
			spans: []string{`{"traceId":"4BD8F606688C3F3347D69C1B6539C957","spanId":"0766d68605234692","parentSpanId":"","name":"x","kind":"SPAN_KIND_CLIENT",` +
				`"startTimeUnixNano":1.5e18,"endTimeUnixNano":1732465029373357000,` + attrs + `}`, opSpan(2, "chat")},
			want: []ShapeProblem{{kindProblem, 1}, {parentProblem, 1}, {startProblem, 1}, {statusMissing, 1}, {traceProblem, 1}},
		},
		{
			name: "one problem each",
			spans: []string{
				`{"traceId":"4bd8f606688c3f3347d69c1b6539c957","spanId":"0766D68605234692","kind":"CLIENT","startTimeUnixNano":1,"endTimeUnixNano":2,` + attrs + `,"status":{"code":"UNSET"}}`,
				`{"traceId":"4bd8f606688c3f3347d69c1b6539c957","spanId":"0766d68605234693","kind":3,"startTimeUnixNano":1,"endTimeUnixNano":2,` + attrs + `,"status":{"code":"UNSET"}}`,
				`{"traceId":"4bd8f606688c3f3347d69c1b6539c957","spanId":"0766d68605234694","kind":"client","startTimeUnixNano":1,"endTimeUnixNano":"2",` + attrs + `,"status":{"code":"ok"}}`,
				`{"traceId":"4bd8f606688c3f3347d69c1b6539c957","spanId":"0766d68605234695","kind":"CLIENT","startTimeUnixNano":1,"endTimeUnixNano":2,` + attrs + `,"status":{"code":2}}`,
			},
			want: []ShapeProblem{{endProblem, 1}, {kindProblem, 2}, {spanProblem, 1}, {statusProblem, 2}},
		},
		{
			name:  "the exporter's shape",
			spans: []string{opSpan(1, "chat"), opSpan(2, "chat")},
		},
		{
			name: "the exporter's shape, other spacing and empty lists",
			spans: []string{`{ "traceId" : "4bd8f606688c3f3347d69c1b6539c957", "spanId":"0766d68605234692", "parentSpanId": null, "kind":"INTERNAL",` +
				`"startTimeUnixNano":1, "endTimeUnixNano":2, "attributes":{"gen_ai.operation.name":"chat", "n":{}}, "events":[], "status":{"code":"ERROR"} }`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{}, false)
			r := h.post(t, globalPath(tenantA, agent1), bodyJSON(tt.spans...))
			require.Equal(t, http.StatusOK, r.status, r.body)
			assert.Equal(t, okBody, r.body, "shape problems are reported, not rejected")
			assert.Equal(t, tt.want, h.report(t).Agents[0].ShapeProblems)
		})
	}
}

func TestShapeProblemsOfABodyTheExporterWrote(t *testing.T) {
	h := newHarness(t, Config{}, false)
	for _, b := range encodeA365(t, sample.Traces(sample.DefaultAgents, 6, start, sample.Options{MessageBytes: 300})) {
		require.Equal(t, http.StatusOK, h.post(t, globalPath(b.tenant, b.agent), b.body).status)
	}
	for _, a := range h.report(t).Agents {
		assert.Empty(t, a.ShapeProblems)
	}
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
