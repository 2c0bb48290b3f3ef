package agent365receiver // import "github.com/agent365-otel/agent365exporter/receiver"

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/agent365-otel/agent365exporter/receiver/internal/metadata"
)

// handler serves the Agent 365 trace routes. It never reads, logs or
// returns the Authorization header other than to hand its token on as
// client metadata.
type handler struct {
	cfg        *Config
	next       consumer.Traces
	obsreport  *receiverhelper.ObsReport
	telemetry  *metadata.TelemetryBuilder
	logger     *zap.Logger
	retryAfter string // seconds
	mux        *http.ServeMux
	// routeNames maps a mux pattern to its route's name.
	routeNames map[string]string
}

func newHandler(cfg *Config, set receiver.Settings, next consumer.Traces, tb *metadata.TelemetryBuilder) (*handler, error) {
	obsreport, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "http",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	h := &handler{
		cfg:        cfg,
		next:       next,
		obsreport:  obsreport,
		telemetry:  tb,
		logger:     set.Logger,
		retryAfter: strconv.FormatInt(int64(math.Ceil(cfg.RetryAfter.Seconds())), 10),
		mux:        http.NewServeMux(),
		routeNames: map[string]string{},
	}
	for _, rt := range routes {
		h.mux.Handle(rt.pattern, h.traces(rt))
		h.routeNames[rt.pattern] = rt.name
	}
	h.mux.HandleFunc("/", h.notFound)
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *handler) traces(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		kind, _ := kindOf(r.Header.Get("Content-Type"))
		h.write(w, r, rt.name, kind, h.receive(r, rt, kind))
	}
}

// receive reads, checks and passes on one request's spans.
func (h *handler) receive(r *http.Request, rt route, kind bodyKind) answer {
	if r.Method != http.MethodPost {
		a := errorAnswer(http.StatusMethodNotAllowed, "use POST")
		a.allow = http.MethodPost
		return a
	}
	if v, ok := r.URL.Query()["api-version"]; ok && (len(v) != 1 || v[0] != "1") {
		return errorAnswer(http.StatusBadRequest, fmt.Sprintf("api-version %q is not supported; use api-version=1", strings.Join(v, ",")))
	}
	id := identity{agent: strings.TrimSpace(r.PathValue("agentId"))}
	if rt.tenantInPath {
		id.tenant = strings.TrimSpace(r.PathValue("tenantId"))
		if id.tenant == "" {
			return errorAnswer(http.StatusBadRequest, "the tenant id in the path is empty")
		}
	} else {
		// Legacy routes carry the tenant in a header; without it, spans
		// are checked for their agent only.
		id.tenant = strings.TrimSpace(r.Header.Get("x-ms-tenant-id"))
	}
	if id.agent == "" {
		return errorAnswer(http.StatusBadRequest, "the agent id in the path is empty")
	}
	if kind == 0 {
		return errorAnswer(http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q is not supported; send %s (the Agent 365 SDKs' JSON, or OTLP/JSON) or %s",
			r.Header.Get("Content-Type"), contentTypeJSON, contentTypeProtobuf))
	}
	body, a, ok := h.readBody(r)
	if !ok {
		return a
	}
	td, format, err := decode(kind, body)
	if err != nil {
		return errorAnswer(http.StatusBadRequest, err.Error())
	}
	received := td.SpanCount()
	rej := applyIdentity(td, id)
	if n := rej.total(); n > 0 {
		h.countRejected(r, rej)
		h.logger.Warn("Spans refused: they name another tenant or agent than the request's URL",
			zap.String("route", rt.name), zap.String("tenant_id", id.tenant), zap.String("agent_id", id.agent),
			zap.Int("rejected_spans", n), zap.Int("spans", received), zap.String("first", rej.first))
	}
	msg := rej.message(id, received)
	n := td.SpanCount()
	if n == 0 {
		return answer{status: http.StatusOK, rejected: rej.total(), message: msg}
	}
	ctx := h.obsreport.StartTracesOp(h.withToken(r))
	err = h.next.ConsumeTraces(ctx, td)
	h.obsreport.EndTracesOp(ctx, format, n, err)
	if err != nil {
		h.logger.Debug("The pipeline refused spans", zap.String("route", rt.name), zap.Int("spans", n), zap.Error(err))
		return pipelineAnswer(err)
	}
	return answer{status: http.StatusOK, rejected: rej.total(), message: msg}
}

// readBody reads the body within max_request_body_size (confighttp
// enforces it on the received and on the decompressed bytes).
func (h *handler) readBody(r *http.Request) ([]byte, answer, bool) {
	limit := h.cfg.ServerConfig.MaxRequestBodySize
	if r.ContentLength > limit {
		return nil, h.tooLarge(), false
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, h.tooLarge(), false
		}
		return nil, errorAnswer(http.StatusBadRequest, "reading the body: "+err.Error()), false
	}
	return body, answer{}, true
}

func (h *handler) tooLarge() answer {
	return errorAnswer(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than max_request_body_size, %d bytes; send fewer spans per request",
		h.cfg.ServerConfig.MaxRequestBodySize))
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	kind, _ := kindOf(r.Header.Get("Content-Type"))
	h.write(w, r, routeUnknown, kind, errorAnswer(http.StatusNotFound,
		"no such route; use POST /observability/tenants/{tenantId}/otlp/agents/{agentId}/traces?api-version=1 "+
			"(or /observabilityService/tenants/..., /maven/agent365/agents/{agentId}/traces, /maven/agent365/service/agents/{agentId}/traces)"))
}

// decompressError answers what confighttp's decompression refused.
func (h *handler) decompressError(w http.ResponseWriter, r *http.Request, msg string, status int) {
	kind, _ := kindOf(r.Header.Get("Content-Type"))
	if strings.HasPrefix(msg, "unsupported Content-Encoding") {
		status = http.StatusUnsupportedMediaType
	}
	_, pattern := h.mux.Handler(r)
	name, ok := h.routeNames[pattern]
	if !ok {
		name = routeUnknown
	}
	h.write(w, r, name, kind, errorAnswer(status, msg))
}

func (h *handler) write(w http.ResponseWriter, r *http.Request, routeName string, kind bodyKind, a answer) {
	h.telemetry.ReceiverAgent365Requests.Add(r.Context(), 1, metric.WithAttributes(
		attribute.String("route", routeName), attribute.Int("status_code", a.status)))
	if a.status != http.StatusOK {
		h.logger.Debug("Request refused", zap.String("route", routeName), zap.Int("status", a.status), zap.String("message", a.message))
	}
	writeAnswer(w, kind, a, h.retryAfter)
}

func (h *handler) countRejected(r *http.Request, rej rejection) {
	for reason, n := range map[string]int{reasonTenantMismatch: rej.tenant, reasonAgentMismatch: rej.agent} {
		if n > 0 {
			h.telemetry.ReceiverAgent365RejectedSpans.Add(r.Context(), int64(n), metric.WithAttributes(attribute.String("reason", reason)))
		}
	}
}
