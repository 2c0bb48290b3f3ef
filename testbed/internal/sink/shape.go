package sink // import "github.com/agent365-otel/agent365exporter/testbed/internal/sink"

import (
	"bytes"
	"encoding/json"
	"slices"
)

// spanShape is what shapeProblems reads of a span as it was sent: the
// fields whose form DecodeA365 reads more leniently than the exporter
// writes them. The span's content comes from DecodeA365, never from here.
type spanShape struct {
	TraceID      json.RawMessage `json:"traceId"`
	SpanID       json.RawMessage `json:"spanId"`
	ParentSpanID json.RawMessage `json:"parentSpanId"`
	Kind         json.RawMessage `json:"kind"`
	Start        json.RawMessage `json:"startTimeUnixNano"`
	End          json.RawMessage `json:"endTimeUnixNano"`
	Status       *struct {
		Code json.RawMessage `json:"code"`
	} `json:"status"`
}

type shapeBody struct {
	ResourceSpans []struct {
		ScopeSpans []struct {
			Spans []spanShape `json:"spans"`
		} `json:"scopeSpans"`
	} `json:"resourceSpans"`
}

var (
	spanKinds   = []string{"INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER", "UNSPECIFIED"}
	statusCodes = []string{"UNSET", "OK", "ERROR"}
)

// shapeProblems lists, for each span of an a365 body that DecodeA365 read
// into spans (in body order), how the span deviates from the shape the SDKs
// and the exporter write (protocol 2.1) in ways DecodeA365 reads all the
// same: ids in upper-case hex, an empty parentSpanId, times as strings or
// with a fraction, kind or status code as numbers or in another spelling,
// a missing status. The service's own checks are unknown; these are
// reported, not rejected. It returns nil when no span deviates.
//
// Most bodies are written by the exporter or an SDK in the exporter's
// exact form: when each span, written again, is found in the body in
// order, the body has nothing to report and is not parsed a second time.
func shapeProblems(body []byte, spans []spanEntry) [][]string {
	rest := body
	for i := range spans {
		at := bytes.Index(rest, spans[i].a365JSON())
		if at < 0 {
			return lintShape(body, len(spans))
		}
		rest = rest[at+len(spans[i].json):]
	}
	return nil
}

// lintShape reads the shape fields of every span of body; it returns nil
// if it does not find n spans.
func lintShape(body []byte, n int) [][]string {
	var b shapeBody
	if json.Unmarshal(body, &b) != nil {
		return nil
	}
	out := make([][]string, 0, n)
	for _, rs := range b.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for i := range ss.Spans {
				out = append(out, ss.Spans[i].problems())
			}
		}
	}
	if len(out) != n {
		return nil
	}
	return out
}

// problems checks one span against the a365 shape. DecodeA365 refuses ids
// that are not hex of the right length, so of the id checks only the
// letter case is left to find.
func (w *spanShape) problems() []string {
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
