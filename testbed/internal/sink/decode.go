package sink // import "github.com/agent365-otel/agent365exporter/testbed/internal/sink"

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/payload"
	"github.com/agent365-otel/agent365exporter/internal/schema"
)

// decodeContent undoes the request's Content-Encoding, within limit bytes.
func decodeContent(r *http.Request, raw []byte, limit int64) ([]byte, reply, bool) {
	var zr io.ReadCloser
	var err error
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return raw, reply{}, true
	case "gzip", "x-gzip":
		zr, err = gzip.NewReader(bytes.NewReader(raw))
	case "deflate":
		zr, err = zlib.NewReader(bytes.NewReader(raw))
	default:
		return nil, errorReply(http.StatusUnsupportedMediaType, "UnsupportedMediaType",
			fmt.Sprintf("unsupported Content-Encoding %q; send gzip, deflate or none", enc)), false
	}
	if err != nil {
		return nil, errorReply(http.StatusBadRequest, "BadRequest", "decompressing the body: "+err.Error()), false
	}
	defer zr.Close()
	body, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, errorReply(http.StatusBadRequest, "BadRequest", "decompressing the body: "+err.Error()), false
	}
	if int64(len(body)) > limit {
		return nil, errorReply(http.StatusRequestEntityTooLarge, "PayloadTooLarge",
			fmt.Sprintf("decompressed request body is larger than %d bytes", limit)), false
	}
	return body, reply{}, true
}

// spanEntry is one span of a body, in the a365 shape.
type spanEntry struct {
	resource json.RawMessage // resource attributes object, or null
	scope    Scope
	span     json.RawMessage
	attrs    map[string]json.RawMessage
	shape    []string // problems with the span's a365 shape
	// fields are the span's own fields the contract requires that it has.
	fields schema.SpanFields
}

type wireBody struct {
	ResourceSpans *[]wireResourceSpans `json:"resourceSpans"`
}

type wireResourceSpans struct {
	Resource struct {
		Attributes json.RawMessage `json:"attributes"`
	} `json:"resource"`
	ScopeSpans []struct {
		Scope Scope             `json:"scope"`
		Spans []json.RawMessage `json:"spans"`
	} `json:"scopeSpans"`
}

type wireAttrs struct {
	Attributes json.RawMessage `json:"attributes"`
}

type wireSpan struct {
	TraceID      json.RawMessage `json:"traceId"`
	SpanID       json.RawMessage `json:"spanId"`
	ParentSpanID json.RawMessage `json:"parentSpanId"`
	Kind         json.RawMessage `json:"kind"`
	Start        json.RawMessage `json:"startTimeUnixNano"`
	End          json.RawMessage `json:"endTimeUnixNano"`
	Attributes   json.RawMessage `json:"attributes"`
	Events       []wireAttrs     `json:"events"`
	Links        []wireAttrs     `json:"links"`
	Status       *struct {
		Code json.RawMessage `json:"code"`
	} `json:"status"`
}

// decodeBody reads the flattened Agent 365 shape, or standard OTLP/JSON
// (attributes as key/value arrays), which it converts to the a365 shape.
func decodeBody(body []byte) ([]spanEntry, string, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		if !json.Valid(trimmed) {
			return nil, "", errors.New("the body is not valid JSON")
		}
		return nil, "", errors.New("the body must be a JSON object with resourceSpans")
	}
	var b wireBody
	if err := json.Unmarshal(body, &b); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, "", fmt.Errorf("the body is not valid JSON: %v", err)
		}
		return nil, "", fmt.Errorf("the body does not have the trace shape: %v", err)
	}
	if b.ResourceSpans == nil {
		return nil, "", errors.New("the body has no resourceSpans")
	}
	if len(*b.ResourceSpans) == 0 {
		return nil, "", errors.New("resourceSpans is empty")
	}

	// Detect the format: attributes as arrays mean OTLP/JSON; when no span
	// has attributes at all, numeric kinds or string times mean it too.
	var objects, arrays, otlpHints int
	vote := func(raw json.RawMessage) {
		switch firstByte(raw) {
		case '{':
			objects++
		case '[':
			arrays++
		}
	}
	var spans []spanEntry
	var wires []wireSpan
	for _, rs := range *b.ResourceSpans {
		vote(rs.Resource.Attributes)
		res := rs.Resource.Attributes
		if len(res) == 0 {
			res = json.RawMessage("null")
		}
		for _, ss := range rs.ScopeSpans {
			for _, raw := range ss.Spans {
				n := len(spans)
				if firstByte(raw) != '{' {
					return nil, "", fmt.Errorf("span %d is not a JSON object", n)
				}
				var w wireSpan
				if err := json.Unmarshal(raw, &w); err != nil {
					return nil, "", fmt.Errorf("span %d: %v", n, err)
				}
				vote(w.Attributes)
				for _, e := range w.Events {
					vote(e.Attributes)
				}
				for _, l := range w.Links {
					vote(l.Attributes)
				}
				if c := firstByte(w.Kind); c >= '0' && c <= '9' {
					otlpHints++
				}
				if firstByte(w.Start) == '"' {
					otlpHints++
				}
				spans = append(spans, spanEntry{resource: res, scope: ss.Scope, span: raw})
				wires = append(wires, w)
			}
		}
	}
	if arrays > 0 || (objects == 0 && otlpHints > 0) {
		spans, err := decodeOTLPJSON(body)
		return spans, FormatOTLPJSON, err
	}
	for i := range spans {
		w := &wires[i]
		switch firstByte(w.Attributes) {
		case 0, 'n':
		case '{':
			if err := json.Unmarshal(w.Attributes, &spans[i].attrs); err != nil {
				return nil, "", fmt.Errorf("span %d attributes: %v", i, err)
			}
		default:
			return nil, "", fmt.Errorf("span %d: attributes must be a JSON object", i)
		}
		spans[i].shape = shapeProblems(w)
		spans[i].fields = spanFields(w)
	}
	return spans, FormatA365, nil
}

// decodeOTLPJSON reads standard OTLP/JSON with pdata and writes each span
// in the a365 shape, as the exporter would.
func decodeOTLPJSON(body []byte) ([]spanEntry, error) {
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(body)
	if err != nil {
		return nil, fmt.Errorf("the body is not valid OTLP/JSON: %v", err)
	}
	f := payload.NewA365(payload.Options{})
	var out []spanEntry
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := resourceAttributes(f, rs)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			scope := Scope{Name: ss.Scope().Name(), Version: ss.Scope().Version()}
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				raw := f.AppendSpan(nil, spans.At(k), payload.SpanMeta{})
				e := spanEntry{resource: res, scope: scope, span: raw, fields: schema.SpanFieldsOf(spans.At(k))}
				var w struct {
					Attributes map[string]json.RawMessage `json:"attributes"`
				}
				if err := json.Unmarshal(raw, &w); err != nil {
					return nil, fmt.Errorf("converting span %d: %v", len(out), err)
				}
				e.attrs = w.Attributes
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// resourceAttributes writes the attributes object of a resource in the a365 shape.
func resourceAttributes(f *payload.A365, rs ptrace.ResourceSpans) json.RawMessage {
	const prefix, suffix = `{"resourceSpans":[{"resource":{"attributes":`, `},"scopeSpans":[`
	b := f.AppendResourceOpen(nil, rs.Resource(), rs.SchemaUrl())
	if bytes.HasPrefix(b, []byte(prefix)) && bytes.HasSuffix(b, []byte(suffix)) {
		return b[len(prefix) : len(b)-len(suffix)]
	}
	out, err := json.Marshal(rs.Resource().Attributes().AsRaw())
	if err != nil {
		return json.RawMessage("null")
	}
	return out
}

func firstByte(raw []byte) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

var (
	spanKinds   = []string{"INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER", "UNSPECIFIED"}
	statusCodes = []string{"UNSET", "OK", "ERROR"}
)

// shapeProblems checks a span against the a365 shape (protocol 2.1). The
// service's own checks are unknown; these are reported, not rejected.
func shapeProblems(w *wireSpan) []string {
	var out []string
	if !isHexString(w.TraceID, 32) {
		out = append(out, "traceId is not 32 lower-case hex digits")
	}
	if !isHexString(w.SpanID, 16) {
		out = append(out, "spanId is not 16 lower-case hex digits")
	}
	if len(w.ParentSpanID) > 0 && string(w.ParentSpanID) != "null" && !isHexString(w.ParentSpanID, 16) {
		out = append(out, "parentSpanId is not 16 lower-case hex digits (leave it out when there is no parent)")
	}
	if !isUnsignedInteger(w.Start) {
		out = append(out, "startTimeUnixNano is not an unsigned JSON integer")
	}
	if !isUnsignedInteger(w.End) {
		out = append(out, "endTimeUnixNano is not an unsigned JSON integer")
	}
	if !isOneOf(w.Kind, spanKinds) {
		out = append(out, "kind is not one of INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER, UNSPECIFIED")
	}
	if w.Status == nil {
		out = append(out, "status is missing")
	} else if !isOneOf(w.Status.Code, statusCodes) {
		out = append(out, "status.code is not one of UNSET, OK, ERROR")
	}
	return out
}

// spanFields tells which of the span's own fields the contract requires
// are set, as schema.SpanFieldsOf does for the span the exporter wrote:
// ids that are not all zeros, times that are not zero.
func spanFields(w *wireSpan) schema.SpanFields {
	var f schema.SpanFields
	if spanFieldSet(w.TraceID) {
		f |= schema.SpanTraceID
	}
	if spanFieldSet(w.SpanID) {
		f |= schema.SpanSpanID
	}
	if spanFieldSet(w.ParentSpanID) {
		f |= schema.SpanParentSpanID
	}
	if spanFieldSet(w.Start) {
		f |= schema.SpanStartTime
	}
	if spanFieldSet(w.End) {
		f |= schema.SpanEndTime
	}
	return f
}

// spanFieldSet reports whether a span field holds something other than null, "",
// or zeros (an all-zero id, a zero time, as a string or a number).
func spanFieldSet(raw json.RawMessage) bool {
	v := bytes.Trim(bytes.TrimSpace(raw), `"`)
	if len(v) == 0 || string(v) == "null" {
		return false
	}
	return len(bytes.Trim(v, "0")) > 0
}

func isHexString(raw json.RawMessage, n int) bool {
	var s string
	if json.Unmarshal(raw, &s) != nil || len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func isUnsignedInteger(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return false
	}
	for _, c := range raw {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isOneOf(raw json.RawMessage, allowed []string) bool {
	var s string
	return json.Unmarshal(raw, &s) == nil && slices.Contains(allowed, s)
}

// attrValue returns an attribute value as a string (its JSON text when it
// is not a string) and whether it is empty: null, or a string that is ""
// or blank. These are the exporter's rules (observe in partition.go).
func attrValue(raw json.RawMessage) (s string, isString, empty bool) {
	switch firstByte(raw) {
	case 0, 'n':
		return "", false, true
	case '"':
		if json.Unmarshal(raw, &s) == nil {
			return s, true, strings.TrimSpace(s) == ""
		}
	}
	return string(bytes.TrimSpace(raw)), false, false
}

// mismatch is an identity attribute that names another tenant or agent
// than the route.
type mismatch struct {
	attr, value, routeValue string
}

// spanResult is what one span adds to the report.
type spanResult struct {
	op         string // accepted operation
	rejectedOp string // report key of a rejected span's operation
	rejected   string // why the span is rejected; "" when accepted
	agentName  string
	missing    []string
	mistyped   []string // "server.port is Int, the contract says String"
	mismatches []mismatch
	legacy     []string
	shape      []string
}

// analyze applies the service's operation check and the contract's rules
// (schema.Presence, as the exporter does) to one span sent to (tenant, agent).
func analyze(e *spanEntry, tenant, agent string) spanResult {
	var res spanResult
	opRaw, has := e.attrs[schema.OperationName]
	op, isString, empty := attrValue(opRaw)
	switch {
	case !has || empty:
		res.rejectedOp = "(missing)"
		res.rejected = "gen_ai.operation.name is missing"
	case !isString:
		res.rejectedOp = op
		res.rejected = fmt.Sprintf("gen_ai.operation.name %s is not a string", op)
	case !schema.Accepted(op):
		res.rejectedOp = op
		res.rejected = fmt.Sprintf("gen_ai.operation.name %q is not an accepted operation", op)
	}
	if res.rejected != "" {
		return res
	}
	// Reported under the canonical operation, as the exporter counts it.
	res.op = schema.CanonicalOperation(op)
	res.shape = e.shape

	var p schema.Presence
	for k, raw := range e.attrs {
		v, isString, empty := attrValue(raw)
		if isString {
			p.Observe(k, v, empty)
		} else if !empty {
			p.Observe(k, "", false) // as the exporter does for non-string values
		}
		if _, ok := schema.Renames[k]; ok {
			res.legacy = append(res.legacy, k)
		}
		if want, ok := schema.TypeOf(k); ok && !empty {
			if got := jsonType(raw); !jsonTypeMatches(want, got, raw) {
				res.mistyped = append(res.mistyped, fmt.Sprintf("%s is %s, the contract says %s", k, got, want))
			}
		}
		switch k {
		case schema.TenantID:
			if !empty && (!isString || strings.TrimSpace(v) != tenant) {
				res.mismatches = append(res.mismatches, mismatch{attr: k, value: v, routeValue: tenant})
			}
		case schema.AgentID:
			if !empty && (!isString || strings.TrimSpace(v) != agent) {
				res.mismatches = append(res.mismatches, mismatch{attr: k, value: v, routeValue: agent})
			}
		case "gen_ai.agent.name":
			if isString && !empty {
				res.agentName = v
			}
		}
	}
	slices.Sort(res.legacy)
	slices.SortFunc(res.mismatches, func(a, b mismatch) int { return strings.Compare(a.attr, b.attr) })
	p.ObserveSpanFields(e.fields)
	p.Missing(res.op, func(k string) { res.missing = append(res.missing, k) })
	return res
}

// rejectReasons counts rejection reasons in first-seen order.
type rejectReasons struct {
	reasons []string
	counts  []int
}

func (r *rejectReasons) add(reason string) {
	if i := slices.Index(r.reasons, reason); i >= 0 {
		r.counts[i]++
		return
	}
	r.reasons = append(r.reasons, reason)
	r.counts = append(r.counts, 1)
}

// message is the partialSuccess errorMessage: empty when nothing is rejected.
func (r *rejectReasons) message(rejected, total int) string {
	if rejected == 0 {
		return ""
	}
	const show = 5
	parts := make([]string, 0, show+1)
	for i, reason := range r.reasons {
		if i == show {
			parts = append(parts, fmt.Sprintf("and %d more reasons", len(r.reasons)-show))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", reason, plural(r.counts[i], "span")))
	}
	return fmt.Sprintf("%d of %d spans rejected: %s", rejected, total, strings.Join(parts, "; "))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// countJSONSpans counts spans without decoding: every span, and nothing
// else, has a start time.
func countJSONSpans(body []byte) int {
	return bytes.Count(body, []byte(`"startTimeUnixNano"`)) + bytes.Count(body, []byte(`"start_time_unix_nano"`))
}

// jsonType names the type of a JSON attribute value as pdata would hold
// it: Str, Int (an integer number), Double, Bool, Slice or Map.
func jsonType(raw json.RawMessage) string {
	switch firstByte(raw) {
	case '"':
		return "Str"
	case '[':
		return "Slice"
	case '{':
		return "Map"
	case 't', 'f':
		return "Bool"
	}
	if bytes.ContainsAny(raw, ".eE") {
		return "Double"
	}
	return "Int"
}

// jsonTypeMatches tells whether a value of JSON type got is of the
// contract's type want, as the exporter's check does.
func jsonTypeMatches(want schema.Type, got string, raw json.RawMessage) bool {
	switch want {
	case schema.TypeString:
		return got == "Str"
	case schema.TypeInt:
		return got == "Int"
	case schema.TypeStringArray:
		var list []json.RawMessage
		if got != "Slice" || json.Unmarshal(raw, &list) != nil {
			return false
		}
		for _, v := range list {
			if firstByte(v) != '"' {
				return false
			}
		}
		return true
	}
	return true
}
