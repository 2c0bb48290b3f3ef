// Package sink is a local stand-in for the Microsoft Agent 365 trace
// ingestion service. It answers the service's routes the way the service
// does (status codes, partialSuccess), records every accepted span as a JSON
// line, reports per tenant and agent which required attributes the spans
// lack (with the project's schema rules), and injects faults on demand for
// tests. It is a test tool: it has no persistence and trusts its control API
// callers.
//
// Routes (POST, query api-version=1):
//
//	/observability/tenants/{tenantId}/otlp/agents/{agentId}/traces          route "observability"
//	/observabilityService/tenants/{tenantId}/otlp/agents/{agentId}/traces   route "observabilityService"
//	/maven/agent365/agents/{agentId}/traces                                 route "maven" (tenant: x-ms-tenant-id)
//	/maven/agent365/service/agents/{agentId}/traces                         route "maven_service"
//	/v1/traces                                                              plain OTLP/HTTP, counted only
//
// Control API, without authentication: GET /_sink/healthz, GET /_sink/stats,
// POST /_sink/reset, GET /_sink/report, GET /_sink/report.txt,
// GET|POST|DELETE /_sink/faults.
package sink // import "github.com/agent365-otel/agent365exporter/testbed/internal/sink"

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultMaxBodyBytes is the service's body limit, about 1 MB.
const DefaultMaxBodyBytes = 1 << 20

// DefaultMaxOTLPBodyBytes bounds bodies on /v1/traces, where collectors
// send larger batches than the Agent 365 service accepts.
const DefaultMaxOTLPBodyBytes = 64 << 20

// Route names, as recorded and reported.
const (
	RouteObservability        = "observability"
	RouteObservabilityService = "observabilityService"
	RouteMaven                = "maven"
	RouteMavenService         = "maven_service"
	RouteOTLP                 = "otlp" // POST /v1/traces
)

// Body formats, as recorded.
const (
	FormatA365     = "a365"
	FormatOTLPJSON = "otlp_json"
)

// Config configures a Server. The zero value is usable.
type Config struct {
	// Token, when set, is the only bearer token accepted; otherwise any
	// non-empty bearer token is.
	Token string
	// MaxBodyBytes limits request bodies of the Agent 365 routes, before
	// and after decompression (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// MaxOTLPBodyBytes limits bodies on /v1/traces (default DefaultMaxOTLPBodyBytes).
	MaxOTLPBodyBytes int64
	// Output receives one JSON line per accepted span (see Record). Writes
	// are serialized; each request's lines are written with one Write and,
	// when Output has a Flush() error method (bufio.Writer), flushed.
	Output io.Writer
	// KeepRecords keeps the records in memory too, for Records.
	KeepRecords bool
	// Discard accepts and counts spans without decoding, checking or
	// recording them (load tests). Routing, limits, auth and faults still apply.
	Discard bool
	// Latency delays every answer on the trace routes.
	Latency time.Duration
	// Logger, when set, gets one line per trace request.
	Logger *log.Logger
	// Now returns the receive time of records (default time.Now).
	Now func() time.Time
	// Results lists, in every 200 answer, each span's result for each
	// destination, as the service may.
	Results bool
}

// Server is the sink: an http.Handler.
type Server struct {
	cfg Config

	mu      sync.Mutex
	report  *reportState
	stats   Stats
	records []Record

	outMu sync.Mutex

	faults faultQueue

	done      chan struct{}
	closeOnce sync.Once
}

var _ http.Handler = (*Server)(nil)

// New returns a sink with cfg.
func New(cfg Config) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxOTLPBodyBytes <= 0 {
		cfg.MaxOTLPBodyBytes = DefaultMaxOTLPBodyBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{cfg: cfg, report: newReportState(), stats: newStats(), done: make(chan struct{})}
}

// Close ends every wait for latency or a delay fault: the waiting requests
// are answered at once. Call it before shutting the HTTP server down.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
}

// Records returns a copy of the records kept in memory (Config.KeepRecords).
func (s *Server) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.records)
}

// Reset clears the report, the statistics and the kept records. Queued
// faults stay; ClearFaults removes them.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.report = newReportState()
	s.stats = newStats()
	s.records = nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	switch {
	case path == "/_sink" || strings.HasPrefix(path, "/_sink/"):
		s.serveControl(w, r, path)
	case path == "/v1/traces":
		s.serveOTLP(w, r)
	default:
		s.serveA365(w, r, path)
	}
}

// route is a matched Agent 365 route.
type route struct {
	name          string
	tenant, agent string
	tenantHeader  bool // the tenant comes from x-ms-tenant-id
}

// matchRoute matches an escaped path. oldShape reports a route shape the
// service used to accept (no /otlp segment).
func matchRoute(escaped string) (rt route, ok, oldShape bool) {
	seg := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	unescape := func(s string) (string, bool) {
		v, err := url.PathUnescape(s)
		return v, err == nil && v != ""
	}
	switch {
	case len(seg) == 7 && (seg[0] == RouteObservability || seg[0] == RouteObservabilityService) &&
		seg[1] == "tenants" && seg[3] == "otlp" && seg[4] == "agents" && seg[6] == "traces":
		t, ok1 := unescape(seg[2])
		a, ok2 := unescape(seg[5])
		if !ok1 || !ok2 {
			return rt, false, false
		}
		return route{name: seg[0], tenant: t, agent: a}, true, false
	case len(seg) == 5 && seg[0] == "maven" && seg[1] == "agent365" && seg[2] == "agents" && seg[4] == "traces":
		a, ok := unescape(seg[3])
		return route{name: RouteMaven, agent: a, tenantHeader: true}, ok, false
	case len(seg) == 6 && seg[0] == "maven" && seg[1] == "agent365" && seg[2] == "service" && seg[3] == "agents" && seg[5] == "traces":
		a, ok := unescape(seg[4])
		return route{name: RouteMavenService, agent: a, tenantHeader: true}, ok, false
	case len(seg) == 6 && (seg[0] == RouteObservability || seg[0] == RouteObservabilityService) &&
		seg[1] == "tenants" && seg[3] == "agents" && seg[5] == "traces":
		return rt, false, true
	}
	return rt, false, false
}

// reply is an answer on a trace route.
type reply struct {
	status int
	header http.Header
	body   []byte
	reset  bool // close the connection instead
	fault  bool // a fault answered the request
	spans  int  // spans accepted
	reject int  // spans rejected
	msg    string
}

func errorReply(status int, code, msg string) reply {
	body, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": msg}})
	return reply{status: status, body: body, msg: msg, header: http.Header{"Content-Type": {"application/json"}}}
}

func (s *Server) serveA365(w http.ResponseWriter, r *http.Request, path string) {
	rt, ok, old := matchRoute(path)
	if !ok {
		msg := "no such route; use POST /observability/tenants/{tenantId}/otlp/agents/{agentId}/traces?api-version=1"
		if old {
			msg = "this route shape is no longer accepted: the path needs /otlp, as in /observability/tenants/{tenantId}/otlp/agents/{agentId}/traces?api-version=1"
		}
		s.finish(w, r, "unknown", nil, errorReply(http.StatusNotFound, "NotFound", msg))
		return
	}
	if r.Method != http.MethodPost {
		rep := errorReply(http.StatusMethodNotAllowed, "MethodNotAllowed", "use POST")
		rep.header.Set("Allow", http.MethodPost)
		s.finish(w, r, rt.name, nil, rep)
		return
	}
	if rt.tenantHeader {
		rt.tenant = strings.TrimSpace(r.Header.Get("x-ms-tenant-id"))
	}
	arrived := s.cfg.Now().UTC()
	raw, rep, ok, results := s.prepare(r, rt.tenant, rt.agent, s.cfg.MaxBodyBytes)
	if !ok {
		s.finish(w, r, rt.name, raw, rep)
		return
	}
	s.finish(w, r, rt.name, raw, s.handleA365(r, rt, raw, arrived, results))
}

// prepare applies a matching fault and reads the body. When ok is false,
// rep is the answer; results is a results fault to answer with.
func (s *Server) prepare(r *http.Request, tenant, agent string, limit int64) (raw []byte, rep reply, ok bool, results *ResultsFault) {
	f, hasFault := s.faults.take(tenant, agent)
	raw, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if hasFault {
		if f.Delay > 0 && !s.sleep(r.Context(), time.Duration(f.Delay)) {
			return raw, reply{status: statusCanceled, fault: true}, false, nil
		}
		switch {
		case f.Reset:
			return raw, reply{reset: true, fault: true, msg: "fault: connection reset"}, false, nil
		case f.Status != 0:
			return raw, f.reply(), false, nil
		}
		// A delay or results: process the request normally.
		results = f.Results
	}
	if err != nil {
		return raw, errorReply(http.StatusBadRequest, "BadRequest", "reading the body: "+err.Error()), false, nil
	}
	if int64(len(raw)) > limit {
		return raw, errorReply(http.StatusRequestEntityTooLarge, "PayloadTooLarge",
			fmt.Sprintf("request body is larger than %d bytes", limit)), false, nil
	}
	return raw, reply{}, true, results
}

// handleA365 answers a request on an Agent 365 route whose body is read
// and within the limit.
func (s *Server) handleA365(r *http.Request, rt route, raw []byte, arrived time.Time, resultsFault *ResultsFault) reply {
	if rep, ok := s.checkAuth(r); !ok {
		return rep
	}
	body, rep, ok := decodeContent(r, raw, s.cfg.MaxBodyBytes)
	if !ok {
		return rep
	}
	if r.URL.Query().Get("api-version") != "1" {
		return errorReply(http.StatusBadRequest, "InvalidApiVersion",
			"the api-version query parameter is required and must be 1 (api-version=1)")
	}
	if rt.tenant == "" {
		return errorReply(http.StatusBadRequest, "MissingTenant", "the x-ms-tenant-id header is required on the /maven routes")
	}
	if s.cfg.Discard {
		n := countJSONSpans(body)
		s.mu.Lock()
		s.stats.SpansAccepted += int64(n)
		s.mu.Unlock()
		return partialSuccess(n, 0, "")
	}
	td, format, err := decodeBody(body)
	if err != nil {
		return errorReply(http.StatusBadRequest, "InvalidPayload", err.Error())
	}
	spans := spansOf(td)
	var shapes [][]string
	if format == FormatA365 {
		shapes = shapeProblems(body, spans)
	}
	results := make([]spanResult, len(spans))
	var lines bytes.Buffer
	enc := json.NewEncoder(&lines)
	enc.SetEscapeHTML(false)
	var kept []Record
	rejected, recorded := 0, 0
	var reasons rejectReasons
	for i := range spans {
		sp := &spans[i]
		var shape []string
		if shapes != nil {
			shape = shapes[i]
		}
		res := analyze(sp.span, shape, rt.tenant, rt.agent)
		results[i] = res
		if res.rejected != "" {
			rejected++
			reasons.add(res.rejected)
			continue
		}
		if s.cfg.Output == nil && !s.cfg.KeepRecords {
			continue
		}
		rec := Record{
			ReceivedAt: arrived, Route: rt.name, TenantID: rt.tenant, AgentID: rt.agent, Format: format,
			Resource: sp.resource, Scope: sp.scope, Span: sp.a365JSON(),
		}
		if s.cfg.Output != nil {
			if err := enc.Encode(rec); err != nil {
				return errorReply(http.StatusInternalServerError, "InternalError", "recording: "+err.Error())
			}
		}
		if s.cfg.KeepRecords {
			kept = append(kept, rec)
		}
		recorded++
	}
	recordErr := s.write(lines.Bytes())

	s.mu.Lock()
	s.report.add(rt, results)
	s.stats.SpansAccepted += int64(len(spans) - rejected)
	s.stats.SpansRejected += int64(rejected)
	if recordErr != nil {
		s.stats.RecordErrors++
	} else {
		s.stats.SpansRecorded += int64(recorded)
	}
	s.records = append(s.records, kept...)
	s.mu.Unlock()
	if recordErr != nil {
		s.logf("a365sink: recording spans: %v", recordErr)
	}

	answer := partialSuccess(len(spans)-rejected, rejected, reasons.message(rejected, len(spans)))
	if s.cfg.Results || resultsFault != nil {
		s.addResults(&answer, spans, results, resultsFault)
	}
	return answer
}

// write appends lines to the output and flushes it.
func (s *Server) write(lines []byte) error {
	if s.cfg.Output == nil || len(lines) == 0 {
		return nil
	}
	s.outMu.Lock()
	defer s.outMu.Unlock()
	if _, err := s.cfg.Output.Write(lines); err != nil {
		return err
	}
	// An *os.File is unbuffered: readers see the lines at once. No fsync:
	// it would cost milliseconds per request.
	if f, ok := s.cfg.Output.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

func partialSuccess(accepted, rejected int, msg string) reply {
	type ps struct {
		RejectedSpans int    `json:"rejectedSpans"`
		ErrorMessage  string `json:"errorMessage"`
	}
	body, _ := json.Marshal(struct {
		PartialSuccess ps `json:"partialSuccess"`
	}{ps{rejected, msg}})
	return reply{status: http.StatusOK, body: body, spans: accepted, reject: rejected,
		header: http.Header{"Content-Type": {"application/json"}}}
}

// checkAuth answers like the service: a bearer token is required, and the
// configured one when there is one.
func (s *Server) checkAuth(r *http.Request) (reply, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		rep := errorReply(http.StatusUnauthorized, "Unauthorized", "the Authorization header is missing")
		rep.header.Set("WWW-Authenticate", "Bearer")
		return rep, false
	}
	scheme, token, _ := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		rep := errorReply(http.StatusUnauthorized, "Unauthorized", "the Authorization header must be a Bearer token")
		rep.header.Set("WWW-Authenticate", "Bearer")
		return rep, false
	}
	if s.cfg.Token != "" {
		got, want := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(s.cfg.Token))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			rep := errorReply(http.StatusUnauthorized, "Unauthorized", "the bearer token is not valid")
			rep.header.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			return rep, false
		}
	}
	return reply{}, true
}

// statusCanceled counts requests whose client left while they waited.
const statusCanceled = -1

// finish waits the configured latency, writes rep, and counts the request.
func (s *Server) finish(w http.ResponseWriter, r *http.Request, routeName string, raw []byte, rep reply) {
	if rep.status != statusCanceled && !s.sleep(r.Context(), s.cfg.Latency) {
		rep = reply{status: statusCanceled, fault: rep.fault}
	}
	key := strconv.Itoa(rep.status)
	switch {
	case rep.reset:
		key = "reset"
	case rep.status == statusCanceled:
		key = "canceled"
	}
	s.mu.Lock()
	s.stats.Requests++
	s.stats.RequestsByStatus[key]++
	s.stats.RequestsByRoute[routeName]++
	s.stats.Bytes += int64(len(raw))
	if rep.fault {
		s.stats.FaultsApplied++
	}
	s.mu.Unlock()
	if s.cfg.Logger != nil {
		line := fmt.Sprintf("%s %s -> %s", r.Method, r.URL.RequestURI(), key)
		if rep.spans > 0 || rep.reject > 0 {
			line += fmt.Sprintf(" spans=%d rejected=%d", rep.spans, rep.reject)
		}
		if rep.msg != "" {
			line += ": " + rep.msg
		}
		s.cfg.Logger.Print(line)
	}
	switch {
	case rep.reset:
		resetConnection(w)
		return
	case rep.status == statusCanceled:
		return
	}
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	w.Header().Set("x-ms-correlation-id", newCorrelationID())
	if rep.body != nil && w.Header().Get("Content-Length") == "" {
		w.Header().Set("Content-Length", strconv.Itoa(len(rep.body)))
	}
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

// sleep waits d; it returns false when the client left first. Close ends
// the wait early (true).
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logger != nil {
		s.cfg.Logger.Printf(format, args...)
	}
}

func newCorrelationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
