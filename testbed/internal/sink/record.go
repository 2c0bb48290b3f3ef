package sink // import "github.com/agent365-otel/agent365exporter/testbed/internal/sink"

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/payload"
)

// Record is one accepted span, one JSON line of the output.
type Record struct {
	// ReceivedAt is when the request arrived (RFC 3339 with nanoseconds, UTC).
	// All spans of a request share it.
	ReceivedAt time.Time `json:"received_at"`
	// Route is the route name: observability, observabilityService, maven or maven_service.
	Route string `json:"route"`
	// TenantID and AgentID are the route's identity (path, or x-ms-tenant-id header).
	TenantID string `json:"tenant_id"`
	AgentID  string `json:"agent_id"`
	// Format is the body format: a365 or otlp_json.
	Format string `json:"format"`
	// Resource is the resource's attributes object (null when it has none),
	// as the exporter writes it.
	Resource json.RawMessage `json:"resource"`
	// Scope is the instrumentation scope ("unknown" when it has no name, as
	// the exporter writes it).
	Scope Scope `json:"scope"`
	// Span is the span object in the a365 shape, as the exporter's encoder
	// writes the decoded span, whatever the body's format: a body the
	// exporter wrote is recorded byte for byte as received.
	Span json.RawMessage `json:"span"`
}

// Scope is an instrumentation scope.
type Scope struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// ReadRecords reads JSON lines written by a sink.
func ReadRecords(r io.Reader) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return out, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, rec)
	}
	return out, sc.Err()
}

// a365 writes records in the shape the exporter sends.
var a365 = payload.NewA365(payload.Options{})

// spanEntry is one span of a decoded body.
type spanEntry struct {
	span     ptrace.Span
	resource json.RawMessage // the attributes object of the span's resource
	scope    Scope
	json     []byte // the span in the a365 shape, once written
}

// a365JSON returns the span in the a365 shape, writing it on first use.
func (e *spanEntry) a365JSON() []byte {
	if e.json == nil {
		e.json = a365.AppendSpan(nil, e.span, payload.SpanMeta{})
	}
	return e.json
}

// spansOf lists the spans of td in body order.
func spansOf(td ptrace.Traces) []spanEntry {
	out := make([]spanEntry, 0, td.SpanCount())
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := resourceJSON(rs.Resource())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			scope := Scope{Name: ss.Scope().Name(), Version: ss.Scope().Version()}
			if scope.Name == "" {
				scope.Name = "unknown"
			}
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				out = append(out, spanEntry{span: spans.At(k), resource: res, scope: scope})
			}
		}
	}
	return out
}

// resourceJSON writes the attributes object of res as the exporter does:
// the encoder has no call for it alone, so it is cut out of the body's
// opening.
func resourceJSON(res pcommon.Resource) json.RawMessage {
	const prefix, suffix = `{"resourceSpans":[{"resource":{"attributes":`, `},"scopeSpans":[`
	b := a365.AppendResourceOpen(nil, res, "")
	if !bytes.HasPrefix(b, []byte(prefix)) || !bytes.HasSuffix(b, []byte(suffix)) {
		panic("a365sink: the a365 encoder opens a body in an unknown way: " + string(b))
	}
	return b[len(prefix) : len(b)-len(suffix)]
}
