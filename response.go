package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/agent365-otel/agent365exporter/internal/tokeninfo"
)

// classifyResponse sorts a non-2xx answer: 408, 429, 5xx and 401 (a token
// may have expired) are retried behind the identity's gate, 413 leads to smaller
// requests, 403 is final for its spans but gates the identity (its
// permission may be on its way), the rest is final.
func classifyResponse(resp *http.Response) result {
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

// correlationID returns the id the service logs the request under.
func correlationID(h http.Header) string {
	for _, k := range []string{"x-ms-correlation-id", "x-correlation-id", "request-id"} {
		if v := h.Get(k); v != "" {
			return cut(v, 128)
		}
	}
	return ""
}

// readAnswer reads what a 2xx answer says of its spans: the
// partialSuccess counts and, when the service sends them, the per-span
// results. Whatever the body holds, the request stays delivered: an
// answer is never a reason to fail or retry.
func (e *agent365Exporter) readAnswer(ctx context.Context, g *partition, resp *http.Response, body []byte) {
	if len(bytes.TrimSpace(body)) == 0 {
		return
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return
	}
	e.partialSuccess(ctx, g, resp, top["partialSuccess"])
	if raw, ok := top["results"]; ok {
		e.spanResults(ctx, g, resp, raw)
	}
}

// partialSuccess reads {"rejectedSpans":N,"errorMessage":".."}.
func (e *agent365Exporter) partialSuccess(ctx context.Context, g *partition, resp *http.Response, raw json.RawMessage) {
	if raw == nil {
		return
	}
	if string(bytes.TrimSpace(raw)) == "null" {
		if e.notices.first("unlicensed/" + g.id.tenant) {
			e.logger.Warn("Agent 365 accepted spans without a partialSuccess answer; the tenant may have no Agent 365 license, in which case the data is discarded",
				zap.String("tenant_id", g.id.tenant), zap.String("agent_id", g.id.agent), zap.String("correlation_id", correlationID(resp.Header)))
		}
		return
	}
	var ps struct {
		RejectedSpans flexInt `json:"rejectedSpans"`
		ErrorMessage  string  `json:"errorMessage"`
	}
	if json.Unmarshal(raw, &ps) != nil {
		return
	}
	if n := int64(ps.RejectedSpans); n > 0 || ps.ErrorMessage != "" {
		if n > 0 {
			e.telemetry.ExporterAgent365RejectedSpans.Add(ctx, n)
		}
		e.logger.Warn("Agent 365 rejected some spans of an accepted request",
			zap.Int64("rejected_spans", n), zap.String("message", cut(ps.ErrorMessage, maxLoggedBody)),
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
