package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/agent365-otel/agent365exporter/internal/payload"
)

const (
	// maxResponseRead bounds how much of a response body is read.
	maxResponseRead = 64 * 1024
	// maxLoggedBody bounds how much of a response body reaches logs and errors.
	maxLoggedBody = 512
)

// tenantHeader names the request's tenant, as the Agent 365 SDKs send it.
const tenantHeader = "x-ms-tenant-id"

// failure is a request that did not deliver its spans.
type failure struct {
	spans []payload.Span
	err   error
	// permanent: the spans are not sent again (dropped with reason).
	permanent bool
	reason    dropReason
	// gates: the identity waits before its next request (throttled, the
	// service failing, the token refused).
	gates      bool
	retryAfter time.Duration
}

// send posts spans of group g, whose encodings are in buf and whose body is
// size bytes. On 413 it splits the spans in two and sends each half, down
// to single spans.
func (e *agent365Exporter) send(ctx context.Context, buf []byte, g *partition, spans []payload.Span, size int, failures []failure) []failure {
	body := e.bodies.get()
	// The size is exact: one allocation at most, no regrowth.
	body.buf = g.layout.AppendBody(slices.Grow(body.buf, size), buf, spans)
	r := e.post(ctx, g, body, len(spans))
	body.release()
	if r.tooLarge && len(spans) > 1 {
		half := len(spans) / 2
		failures = e.send(ctx, buf, g, spans[:half], g.layout.Size(spans[:half]), failures)
		return e.send(ctx, buf, g, spans[half:], g.layout.Size(spans[half:]), failures)
	}
	if r.err == nil {
		return failures
	}
	f := failure{spans: spans, err: r.err, permanent: r.permanent, reason: dropPermanentError, gates: r.gates, retryAfter: r.retryAfter}
	if r.reason != 0 {
		f.reason = r.reason
	}
	if r.tooLarge {
		f.permanent, f.reason = true, dropPayloadTooLarge
	}
	return append(failures, f)
}

// result is the classified answer to one request.
type result struct {
	err        error
	permanent  bool
	reason     dropReason // of a permanent failure; rejected_by_service when zero
	tooLarge   bool
	gates      bool
	retryAfter time.Duration
}

// Request outcomes, the outcome attribute of otelcol_exporter_agent365_requests.
const (
	outcomeSuccess   = "success"
	outcomeRetryable = "retryable_error"
	outcomePermanent = "permanent_error"
	outcomeTooLarge  = "too_large"
	// outcomeTokenError: no token could be had; nothing was sent.
	outcomeTokenError = "token_error"
)

func (e *agent365Exporter) post(ctx context.Context, g *partition, body *requestBody, nSpans int) result {
	req, err := newPostRequest(ctx, g.url, body)
	if err != nil {
		return result{err: fmt.Errorf("building the request for tenant %s agent %s: %w", g.id.tenant, g.id.agent, err), permanent: true}
	}
	req.Header.Set("Content-Type", "application/json")
	// With the agent segment of the path, the identity an authenticator
	// reads to choose the token (agent365auth does).
	req.Header.Set(tenantHeader, g.id.tenant)
	req.Header.Set("User-Agent", e.userAgent)

	// The transport asks for a connection only once the authenticator has
	// set the token: a failure before that is the token's, and nothing was sent.
	var reachedTransport atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GetConn: func(string) { reachedTransport.Store(true) },
	}))
	start := time.Now()
	resp, err := e.client.Do(req)
	if err != nil {
		if consumererror.IsPermanent(err) {
			// The authenticator refused the request for good (a token that
			// does not fit the route, say): sending it again cannot help.
			e.countRequest(ctx, outcomeTokenError, "none")
			err = fmt.Errorf("the authenticator refused %d spans for tenant %s agent %s: %w", nSpans, g.id.tenant, g.id.agent, err)
			e.logger.Error("Agent 365 request refused by the authenticator; its spans are dropped", zap.Error(err))
			return result{err: err, permanent: true, reason: dropAuthenticatorRefused}
		}
		if !reachedTransport.Load() && ctx.Err() == nil {
			e.countRequest(ctx, outcomeTokenError, "none")
			err = fmt.Errorf("no token for tenant %s agent %s, %d spans not sent: %w", g.id.tenant, g.id.agent, nSpans, err)
			e.logger.Warn("No token for an Agent 365 request; it will be retried", zap.Error(err))
			return result{err: err, gates: true}
		}
		e.telemetry.ExporterAgent365RequestSize.Record(ctx, int64(len(body.buf)))
		e.telemetry.ExporterAgent365RequestDuration.Record(ctx, time.Since(start).Seconds())
		e.countRequest(ctx, outcomeRetryable, "none")
		err = fmt.Errorf("sending %d spans for tenant %s agent %s: %w", nSpans, g.id.tenant, g.id.agent, err)
		e.logger.Warn("Agent 365 request failed; it will be retried", zap.Error(err))
		return result{err: err, gates: true}
	}
	e.telemetry.ExporterAgent365RequestSize.Record(ctx, int64(len(body.buf)))
	e.telemetry.ExporterAgent365RequestDuration.Record(ctx, time.Since(start).Seconds())
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseRead))
		_ = resp.Body.Close()
	}()
	respBody, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseRead))
	respText := scrub(string(respBody), sentAuthorization(resp, req))
	class := statusClass(resp.StatusCode)

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		e.countRequest(ctx, outcomeSuccess, class)
		e.telemetry.ExporterAgent365DeliveredSpans.Add(ctx, int64(nSpans))
		e.readAnswer(ctx, g, resp, respBody)
		return result{}
	}

	r := classifyResponse(resp)
	detail := describeFailure(resp, respText)
	r.err = fmt.Errorf("request with %d spans for tenant %s agent %s: HTTP %d%s%s", nSpans, g.id.tenant, g.id.agent, resp.StatusCode, hint(resp), detail)
	fields := []zap.Field{
		zap.Int("status", resp.StatusCode), zap.String("tenant_id", g.id.tenant), zap.String("agent_id", g.id.agent),
		zap.Int("spans", nSpans), zap.String("correlation_id", correlationID(resp.Header)),
		zap.String("response", cut(respText, maxLoggedBody)),
	}
	switch {
	case r.tooLarge:
		e.countRequest(ctx, outcomeTooLarge, class)
		e.logger.Warn("Agent 365 refused the request as too large; sending smaller requests", fields...)
	case r.permanent:
		e.countRequest(ctx, outcomePermanent, class)
		e.logger.Error("Agent 365 rejected the request; its spans are dropped"+hint(resp), fields...)
	default:
		e.countRequest(ctx, outcomeRetryable, class)
		if r.retryAfter > 0 {
			fields = append(fields, zap.Duration("retry_after", r.retryAfter))
		}
		e.logger.Warn("Agent 365 request failed; it will be retried"+hint(resp), fields...)
	}
	return r
}

// statusClass is the status_class attribute of a status code: 2xx to 5xx,
// "other" for anything else a server may send, so the label stays bounded.
func statusClass(code int) string {
	if code < 200 || code >= 600 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}

// newPostRequest is a POST of body; the transport holds the body's buffer
// until it closes the reader.
func newPostRequest(ctx context.Context, url string, body *requestBody) (*http.Request, error) {
	rd, err := body.reader()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, rd)
	if err != nil {
		_ = rd.Close()
		return nil, err
	}
	req.ContentLength = int64(len(body.buf))
	// A replay (after a 401, an HTTP/2 retry) reads the same bytes.
	req.GetBody = body.reader
	return req, nil
}

var requestAttrs sync.Map // outcome/class -> metric.AddOption

func (e *agent365Exporter) countRequest(ctx context.Context, outcome, class string) {
	key := outcome + "/" + class
	opt, ok := requestAttrs.Load(key)
	if !ok {
		opt, _ = requestAttrs.LoadOrStore(key, metric.WithAttributeSet(attribute.NewSet(
			attribute.String("outcome", outcome), attribute.String("status_class", class))))
	}
	e.telemetry.ExporterAgent365Requests.Add(ctx, 1, opt.(metric.AddOption))
}
