package sink // import "github.com/agent365-otel/agent365exporter/testbed/internal/sink"

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"
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
	// Resource is the resource's attributes object (null when it has none).
	Resource json.RawMessage `json:"resource"`
	// Scope is the instrumentation scope.
	Scope Scope `json:"scope"`
	// Span is the span object as received (a365), or converted to the
	// a365 shape (otlp_json).
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
