package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/agent365-otel/agent365exporter/auth"
	"github.com/agent365-otel/agent365exporter/internal/payload"
	"github.com/agent365-otel/agent365exporter/internal/tokeninfo"
)

const (
	// maxResponseRead bounds how much of a response body is read.
	maxResponseRead = 64 * 1024
	// maxLoggedBody bounds how much of a response body reaches logs and errors.
	maxLoggedBody = 512
)

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
func (e *agent365Exporter) send(ctx context.Context, buf []byte, g *group, spans []payload.Span, size int, failures []failure) []failure {
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
	if r.tooLarge {
		f.permanent, f.reason = true, dropPayloadTooLarge
	}
	return append(failures, f)
}

// result is the classified answer to one request.
type result struct {
	err        error
	permanent  bool
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

func (e *agent365Exporter) post(ctx context.Context, g *group, body *requestBody, nSpans int) result {
	id := auth.Identity{TenantID: g.id.tenant, AgentID: g.id.agent}
	req, err := newPostRequest(auth.ContextWithIdentity(ctx, id), g.url, body)
	if err != nil {
		return result{err: fmt.Errorf("building the request for tenant %s agent %s: %w", g.id.tenant, g.id.agent, err), permanent: true}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(auth.TenantHeader, g.id.tenant)
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
	class := strconv.Itoa(resp.StatusCode/100) + "xx"

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		e.countRequest(ctx, outcomeSuccess, class)
		e.telemetry.ExporterAgent365DeliveredSpans.Add(ctx, int64(nSpans))
		e.partialSuccess(ctx, g, resp, respBody)
		return result{}
	}

	r := classify(resp)
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

// classify sorts a non-2xx answer: 408, 429, 5xx and 401 (a token may have
// expired) are retried behind the identity's gate, 413 leads to smaller
// requests, 403 is final for its spans but gates the identity (its
// permission may be on its way), the rest is final.
func classify(resp *http.Response) result {
	code := resp.StatusCode
	switch {
	case code == http.StatusRequestEntityTooLarge:
		return result{tooLarge: true}
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500,
		code == http.StatusUnauthorized:
		return result{gates: true, retryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	case code == http.StatusForbidden:
		return result{permanent: true, gates: true}
	default:
		return result{permanent: true}
	}
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, 24*time.Hour)
		}
	}
	return 0
}

// hint explains the failures an operator can fix.
func hint(resp *http.Response) string {
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return " (401: the token was refused; check the authenticator's credentials and that the token is for the agent in the path)"
	case http.StatusForbidden:
		if strings.Contains(strings.ToLower(resp.Header.Get("WWW-Authenticate")), "insufficient_scope") {
			msg := " (403 insufficient_scope: the token lacks the Agent365.Observability.OtelWrite permission of the Agent 365 Observability API 9b975845-388f-4429-889e-eab1ef63949c; grant it and its admin consent to the app"
			if resp.Request != nil {
				if c, ok := tokeninfo.Parse(resp.Request.Header.Get("Authorization")); ok {
					msg += "; token claims: " + c.String()
				}
			}
			return msg + ")"
		}
		return " (403: the token's app is not allowed to write for this agent; the agent id must be the agent instance's app id, not its blueprint's)"
	case http.StatusBadRequest:
		return " (400: the service refused the payload or the route; check the agent id and tenant id)"
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return " (redirect to " + resp.Header.Get("Location") + " not followed: set endpoint to the final URL)"
	}
	return ""
}

func describeFailure(resp *http.Response, body string) string {
	var b strings.Builder
	if id := correlationID(resp.Header); id != "" {
		b.WriteString(" (correlation id ")
		b.WriteString(id)
		b.WriteString(")")
	}
	if len(body) > 0 {
		b.WriteString(": ")
		b.WriteString(cut(body, maxLoggedBody))
	}
	return b.String()
}

// sentAuthorization is the Authorization header as it went out: an auth
// round tripper sets it on its own copy of the request, which the response
// points back to.
func sentAuthorization(resp *http.Response, req *http.Request) string {
	if resp.Request != nil {
		if v := resp.Request.Header.Get("Authorization"); v != "" {
			return v
		}
	}
	return req.Header.Get("Authorization")
}

// jwtPattern matches anything shaped like a JWT.
var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)

// scrub removes the request's bearer token, in every form a service may
// echo it (as is, URL-escaped, base64, JSON-escaped) and whatever its
// length, and anything shaped like a JWT, from response text before it
// reaches logs or errors.
func scrub(text, authorization string) string {
	tok := strings.TrimSpace(authorization)
	if scheme, rest, ok := strings.Cut(tok, " "); ok && strings.EqualFold(scheme, "bearer") {
		tok = strings.TrimSpace(rest)
	}
	if tok != "" {
		forms := tokenForms(tok)
		// Longest first: a form never leaves part of a longer one behind.
		slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
		pairs := make([]string, 0, 2*len(forms))
		for _, f := range slices.Compact(forms) {
			pairs = append(pairs, f, "[REDACTED]")
		}
		text = strings.NewReplacer(pairs...).Replace(text)
	}
	return jwtPattern.ReplaceAllString(text, "[REDACTED]")
}

// tokenForms are the ways a token can be written back in a response.
func tokenForms(tok string) []string {
	b := []byte(tok)
	forms := []string{
		tok, url.QueryEscape(tok), url.PathEscape(tok),
		base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
	}
	if j, err := json.Marshal(tok); err == nil {
		forms = append(forms, string(j[1:len(j)-1]))
	}
	return forms
}

// correlationID returns the id the service logs the request under.
func correlationID(h http.Header) string {
	for _, k := range []string{"x-ms-correlation-id", "x-correlation-id", "request-id"} {
		if v := h.Get(k); v != "" {
			return cut(v, 128)
		}
	}
	return ""
}

// partialSuccess reads {"partialSuccess":{"rejectedSpans":N,"errorMessage":".."}}.
func (e *agent365Exporter) partialSuccess(ctx context.Context, g *group, resp *http.Response, body []byte) {
	if len(bytes.TrimSpace(body)) == 0 {
		return
	}
	var r struct {
		PartialSuccess *struct {
			RejectedSpans flexInt `json:"rejectedSpans"`
			ErrorMessage  string  `json:"errorMessage"`
		} `json:"partialSuccess"`
	}
	raw := map[string]json.RawMessage{}
	if json.Unmarshal(body, &raw) != nil || json.Unmarshal(body, &r) != nil {
		return
	}
	if r.PartialSuccess == nil {
		if v, ok := raw["partialSuccess"]; ok && string(bytes.TrimSpace(v)) == "null" && e.notices.first("unlicensed/"+g.id.tenant) {
			e.logger.Warn("Agent 365 accepted spans without a partialSuccess answer; the tenant may have no Agent 365 license, in which case the data is discarded",
				zap.String("tenant_id", g.id.tenant), zap.String("agent_id", g.id.agent), zap.String("correlation_id", correlationID(resp.Header)))
		}
		return
	}
	if n := int64(r.PartialSuccess.RejectedSpans); n > 0 || r.PartialSuccess.ErrorMessage != "" {
		if n > 0 {
			e.telemetry.ExporterAgent365RejectedSpans.Add(ctx, n)
		}
		e.logger.Warn("Agent 365 rejected some spans of an accepted request",
			zap.Int64("rejected_spans", n), zap.String("message", cut(r.PartialSuccess.ErrorMessage, maxLoggedBody)),
			zap.String("tenant_id", g.id.tenant), zap.String("agent_id", g.id.agent), zap.String("correlation_id", correlationID(resp.Header)))
	}
}

// flexInt is an int64 written as a JSON number or, as protojson does, a string.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	*f = flexInt(n)
	return nil
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

// cut shortens s to at most n bytes of valid UTF-8 and says so.
func cut(s string, n int) string {
	if len(s) <= n {
		return strings.ToValidUTF8(s, "\ufffd")
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return strings.ToValidUTF8(s[:i], "\ufffd") + fmt.Sprintf("… [cut, %d bytes in all]", len(s))
}

// onceSet remembers up to limit keys, for notices logged once per tenant.
type onceSet struct {
	mu    sync.Mutex
	seen  map[string]struct{}
	limit int
}

func newOnceSet(limit int) *onceSet { return &onceSet{seen: map[string]struct{}{}, limit: limit} }

// first reports whether key is new; past the limit every key is old.
func (o *onceSet) first(key string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.seen[key]; ok || len(o.seen) >= o.limit {
		return false
	}
	o.seen[key] = struct{}{}
	return true
}
