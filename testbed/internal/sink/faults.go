package sink // import "github.com/agent365-otel/agent365exporter/testbed/internal/sink"

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault changes how matching trace requests are answered. The fields
// combine: Delay is waited first; then Reset closes the connection, or
// Status answers; with neither, the request is processed normally after
// the delay. A request answered by Reset or Status is not recorded.
type Fault struct {
	// Status answers with this HTTP status (200 to 599).
	Status int `json:"status,omitempty"`
	// Times is how many matching requests the fault applies to; 0 means
	// until the faults are cleared.
	Times int `json:"times,omitempty"`
	// RetryAfter is sent as the Retry-After header: seconds, or an HTTP date.
	RetryAfter RetryAfter `json:"retry_after,omitempty"`
	// Delay is waited before the request is answered or processed.
	Delay Duration `json:"delay,omitempty"`
	// Reset closes the connection without an answer (an RST where possible).
	Reset bool `json:"reset,omitempty"`
	// Tenant and Agent, when set, restrict the fault to requests for them.
	Tenant string `json:"tenant,omitempty"`
	Agent  string `json:"agent,omitempty"`
	// Body is the answer's body (default: a JSON error naming the fault).
	Body string `json:"body,omitempty"`
	// Headers are added to the answer (for instance WWW-Authenticate or
	// x-ms-correlation-id).
	Headers map[string]string `json:"headers,omitempty"`
	// Results answers 200 and processes the request, but lists per-span
	// results in which these destinations did not take the spans: what
	// the service does for an ineligible tenant, say.
	Results *ResultsFault `json:"results,omitempty"`
}

// FaultState is a queued fault and how often it was applied.
type FaultState struct {
	Fault
	Applied int `json:"applied"`
	// Remaining is how many more requests it applies to; -1 means until cleared.
	Remaining int `json:"remaining"`
}

// Duration is a time.Duration written in JSON as a Go duration string ("200ms").
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`a duration is a string such as "200ms" or "2s"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// RetryAfter is a Retry-After value: seconds or an HTTP date. In JSON it
// is a string, or a number of seconds.
type RetryAfter string

// UnmarshalJSON implements json.Unmarshaler.
func (r *RetryAfter) UnmarshalJSON(b []byte) error {
	if firstByte(b) == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*r = RetryAfter(s)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("retry_after is seconds (a number or a string) or an HTTP date")
	}
	*r = RetryAfter(strconv.FormatInt(n, 10))
	return nil
}

// ResultsFault is the per-span results of an answer that is 200 all the same.
type ResultsFault struct {
	// Status is "rejected" or "not_routed".
	Status string `json:"status"`
	// Reason says why (default "InjectedFault").
	Reason string `json:"reason,omitempty"`
	// Destinations are the ones that did not take the spans (default all).
	Destinations []string `json:"destinations,omitempty"`
}

// Validate reports a fault that cannot be applied.
func (f *Fault) Validate() error {
	switch {
	case f.Status != 0 && (f.Status < 200 || f.Status > 599):
		return fmt.Errorf("status %d: use 200 to 599", f.Status)
	case f.Times < 0:
		return errors.New("times must be 0 (until cleared) or more")
	case f.Delay < 0:
		return errors.New("delay must not be negative")
	case f.Reset && f.Status != 0:
		return errors.New("reset and status exclude each other")
	case f.Status == 0 && (f.RetryAfter != "" || f.Body != "" || len(f.Headers) > 0):
		return errors.New("retry_after, body and headers need a status")
	case f.Results != nil && (f.Status != 0 || f.Reset):
		return errors.New("results answer 200: they exclude status and reset")
	case f.Status == 0 && !f.Reset && f.Delay == 0 && f.Results == nil:
		return errors.New("a fault needs a status, a delay, reset or results")
	}
	if r := f.Results; r != nil {
		if r.Status != resultRejected && r.Status != resultNotRouted {
			return fmt.Errorf("results.status %q: use %q or %q", r.Status, resultRejected, resultNotRouted)
		}
		for _, d := range r.Destinations {
			if !slices.Contains(Destinations, d) {
				return fmt.Errorf("results.destinations: %q is not one of %s", d, strings.Join(Destinations, ", "))
			}
		}
	}
	if f.RetryAfter != "" {
		if n, err := strconv.Atoi(string(f.RetryAfter)); err == nil {
			if n < 0 {
				return errors.New("retry_after must not be negative")
			}
		} else if _, err := http.ParseTime(string(f.RetryAfter)); err != nil {
			return fmt.Errorf("retry_after %q is neither seconds nor an HTTP date", f.RetryAfter)
		}
	}
	return nil
}

// reply is the answer of a fault with a status.
func (f *Fault) reply() reply {
	h := http.Header{}
	body := []byte(f.Body)
	if f.Body == "" {
		body, _ = json.Marshal(map[string]any{"error": map[string]string{
			"code": "InjectedFault", "message": fmt.Sprintf("a365sink fault: %d %s", f.Status, http.StatusText(f.Status)),
		}})
	}
	if json.Valid(body) {
		h.Set("Content-Type", "application/json")
	} else {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	if f.RetryAfter != "" {
		h.Set("Retry-After", string(f.RetryAfter))
	}
	if f.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", "Bearer")
	}
	for k, v := range f.Headers {
		h.Set(k, v)
	}
	return reply{status: f.Status, header: h, body: body, fault: true, msg: fmt.Sprintf("fault: %d", f.Status)}
}

type faultQueue struct {
	mu     sync.Mutex
	faults []*FaultState
}

// take returns the first queued fault matching (tenant, agent) and counts it.
func (q *faultQueue) take(tenant, agent string) (Fault, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, f := range q.faults {
		if (f.Tenant != "" && f.Tenant != tenant) || (f.Agent != "" && f.Agent != agent) {
			continue
		}
		f.Applied++
		if f.Remaining > 0 {
			f.Remaining--
			if f.Remaining == 0 {
				q.faults = append(q.faults[:i:i], q.faults[i+1:]...)
			}
		}
		return f.Fault, true
	}
	return Fault{}, false
}

// AddFault queues f after the faults already queued.
func (s *Server) AddFault(f Fault) error {
	if err := f.Validate(); err != nil {
		return err
	}
	st := &FaultState{Fault: f, Remaining: f.Times}
	if f.Times == 0 {
		st.Remaining = -1
	}
	s.faults.mu.Lock()
	s.faults.faults = append(s.faults.faults, st)
	s.faults.mu.Unlock()
	return nil
}

// ClearFaults removes every queued fault and returns how many there were.
func (s *Server) ClearFaults() int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	n := len(s.faults.faults)
	s.faults.faults = nil
	return n
}

// Faults returns the queued faults.
func (s *Server) Faults() []FaultState {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	out := make([]FaultState, len(s.faults.faults))
	for i, f := range s.faults.faults {
		out[i] = *f
	}
	return out
}

// resetConnection closes the request's connection without an answer: with
// SO_LINGER 0 (a TCP RST) when the connection can be hijacked, else by
// aborting the handler (HTTP/2: the stream is reset).
func resetConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			c := conn
			if tc, ok := c.(*tls.Conn); ok {
				c = tc.NetConn()
			}
			if tcp, ok := c.(*net.TCPConn); ok {
				_ = tcp.SetLinger(0)
			}
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// Stats are the sink's counters: the body of GET /_sink/stats.
type Stats struct {
	// Requests counts the requests on every route but the control API.
	Requests int64 `json:"requests"`
	// RequestsByStatus counts them by the status answered ("200", "503",
	// ...), "reset" for reset connections and "canceled" when the client
	// left before the answer.
	RequestsByStatus map[string]int64 `json:"requests_by_status"`
	// RequestsByRoute counts them by route name ("otlp" for /v1/traces,
	// "unknown" for paths that match no route).
	RequestsByRoute map[string]int64 `json:"requests_by_route"`
	// FaultsApplied counts requests a fault changed.
	FaultsApplied int64 `json:"faults_applied"`
	// SpansAccepted counts spans of successful Agent 365 requests that the
	// service would keep; SpansRejected the ones it would drop.
	SpansAccepted int64 `json:"spans_accepted"`
	SpansRejected int64 `json:"spans_rejected"`
	// SpansRecorded counts spans written to the output or kept in memory.
	SpansRecorded int64 `json:"spans_recorded"`
	// OTLPSpans counts spans received on /v1/traces.
	OTLPSpans int64 `json:"otlp_spans"`
	// Bytes counts request body bytes as received (compressed, if so).
	Bytes int64 `json:"bytes"`
	// RecordErrors counts requests whose spans could not be written.
	RecordErrors int64 `json:"record_errors"`
	// Results counts the per-span destination results answered, by status.
	Results map[string]int64 `json:"results,omitempty"`
}

func newStats() Stats {
	return Stats{RequestsByStatus: map[string]int64{}, RequestsByRoute: map[string]int64{}, Results: map[string]int64{}}
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.RequestsByStatus = make(map[string]int64, len(s.stats.RequestsByStatus))
	for k, v := range s.stats.RequestsByStatus {
		st.RequestsByStatus[k] = v
	}
	st.RequestsByRoute = make(map[string]int64, len(s.stats.RequestsByRoute))
	for k, v := range s.stats.RequestsByRoute {
		st.RequestsByRoute[k] = v
	}
	st.Results = maps.Clone(s.stats.Results)
	return st
}

// maxControlBody bounds control API request bodies.
const maxControlBody = 1 << 20

// serveControl answers the control API under /_sink/.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request, path string) {
	type handler struct {
		methods []string
		serve   func()
	}
	routes := map[string]handler{
		"/_sink/healthz": {[]string{http.MethodGet, http.MethodHead}, func() {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		}},
		"/_sink/stats": {[]string{http.MethodGet}, func() { writeJSON(w, http.StatusOK, s.Stats()) }},
		"/_sink/reset": {[]string{http.MethodPost}, func() {
			s.Reset()
			writeJSON(w, http.StatusOK, map[string]string{"status": "reset"})
		}},
		"/_sink/report": {[]string{http.MethodGet}, func() { writeJSON(w, http.StatusOK, s.Report()) }},
		"/_sink/report.txt": {[]string{http.MethodGet}, func() {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_ = WriteText(w, s.Report())
		}},
		"/_sink/faults": {[]string{http.MethodGet, http.MethodPost, http.MethodDelete}, func() { s.serveFaults(w, r) }},
	}
	h, ok := routes[path]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{
			"code": "NotFound", "message": "control routes: /_sink/healthz, /_sink/stats, /_sink/reset, /_sink/report, /_sink/report.txt, /_sink/faults",
		}})
		return
	}
	for _, m := range h.methods {
		if r.Method == m {
			h.serve()
			return
		}
	}
	w.Header().Set("Allow", strings.Join(h.methods, ", "))
	writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": map[string]string{
		"code": "MethodNotAllowed", "message": "use " + strings.Join(h.methods, " or "),
	}})
}

// serveFaults: GET lists the queue, POST queues one fault (an object) or
// several (an array), DELETE clears the queue.
func (s *Server) serveFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"faults": s.Faults()})
	case http.MethodDelete:
		writeJSON(w, http.StatusOK, map[string]int{"cleared": s.ClearFaults()})
	case http.MethodPost:
		var faults []Fault
		body, err := readControlBody(r)
		if err == nil {
			if bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) {
				err = strictUnmarshal(body, &faults)
			} else {
				var f Fault
				err = strictUnmarshal(body, &f)
				faults = []Fault{f}
			}
		}
		if err == nil {
			for i := range faults {
				if err = faults[i].Validate(); err != nil {
					break
				}
			}
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "InvalidFault", "message": err.Error()}})
			return
		}
		for _, f := range faults {
			_ = s.AddFault(f)
		}
		writeJSON(w, http.StatusOK, map[string]int{"queued": len(s.Faults())})
	}
}

func readControlBody(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, maxControlBody))
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errors.New("the body is empty; send a JSON fault")
	}
	return buf.Bytes(), nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":{"code":"InternalError","message":"encoding"}}`)
	}
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// firstByte is the first byte of raw that is not white space, or 0.
func firstByte(raw []byte) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}
