package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

// A 200 is not proof of ingestion: the service may list, for each span,
// each destination's status (sent, rejected, not_routed) with a reason.
// The shape of that list is not published, so it is read leniently: any
// object with a "status" string is a result, found in the "results" list
// itself or nested in its entries (a list of destinations per span); an
// entry's own status counts only when it nests none. What cannot be read
// is ignored.

// Result statuses, the status attribute of otelcol_exporter_agent365_span_results.
const (
	resultSent      = "sent"
	resultRejected  = "rejected"
	resultNotRouted = "not_routed"
	resultOther     = "other"
)

// destinationResult is one destination's verdict on one span.
type destinationResult struct {
	status, reason string
}

// maxResultDepth bounds how deep results are looked for.
const maxResultDepth = 4

// parseResults returns the destination results of a "results" value.
func parseResults(raw json.RawMessage) []destinationResult {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil
	}
	var out []destinationResult
	switch list := v.(type) {
	case []any:
		for _, item := range list {
			out = append(out, collectResults(item, 0)...)
		}
	case map[string]any: // keyed by span id
		for _, item := range list {
			out = append(out, collectResults(item, 0)...)
		}
	}
	return out
}

func collectResults(v any, depth int) []destinationResult {
	if depth > maxResultDepth {
		return nil
	}
	var nested []destinationResult
	switch x := v.(type) {
	case []any:
		for _, item := range x {
			nested = append(nested, collectResults(item, depth+1)...)
		}
		return nested
	case map[string]any:
		for k, item := range x {
			if k == "status" || k == "reason" {
				continue
			}
			switch item.(type) {
			case []any, map[string]any:
				nested = append(nested, collectResults(item, depth+1)...)
			}
		}
		if len(nested) > 0 {
			return nested
		}
		status, ok := x["status"].(string)
		if !ok {
			return nil
		}
		reason, _ := x["reason"].(string)
		if reason == "" {
			reason, _ = x["reasonCode"].(string)
		}
		return []destinationResult{{status: normalizeStatus(status), reason: reason}}
	}
	return nil
}

func normalizeStatus(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.NewReplacer("-", "_", " ", "_").Replace(s)
	switch s {
	case resultSent, resultRejected, resultNotRouted:
		return s
	case "notrouted":
		return resultNotRouted
	}
	return resultOther
}

// resultLabels keeps the reason label of span results bounded: reasons
// come from the service, so past maxReasons distinct ones they are "other".
type resultLabels struct {
	mu      sync.Mutex
	reasons map[string]struct{}
	opts    map[[2]string]metric.AddOption
}

const maxReasons = 32

func newResultLabels() *resultLabels {
	return &resultLabels{reasons: map[string]struct{}{}, opts: map[[2]string]metric.AddOption{}}
}

// option returns the metric attributes of (status, reason).
func (l *resultLabels) option(status, reason string) metric.AddOption {
	l.mu.Lock()
	defer l.mu.Unlock()
	reason = sanitizeReason(reason)
	if reason != "" {
		if _, ok := l.reasons[reason]; !ok {
			if len(l.reasons) >= maxReasons {
				reason = resultOther
			} else {
				l.reasons[reason] = struct{}{}
			}
		}
	}
	key := [2]string{status, reason}
	opt, ok := l.opts[key]
	if !ok {
		opt = metric.WithAttributeSet(attribute.NewSet(attribute.String("status", status), attribute.String("reason", reason)))
		l.opts[key] = opt
	}
	return opt
}

// sanitizeReason keeps a reason short and plain, as a label value.
func sanitizeReason(r string) string {
	var b strings.Builder
	for _, c := range r {
		if b.Len() >= 64 {
			break
		}
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.':
			b.WriteRune(c)
		case c == ' ':
			b.WriteByte('_')
		}
	}
	return b.String()
}

// spanResults counts the results of an answer by status and reason, and
// logs those that did not reach a destination, at most once a minute per
// agent, status and reason.
func (e *agent365Exporter) spanResults(ctx context.Context, g *partition, resp *http.Response, raw json.RawMessage) {
	results := parseResults(raw)
	if len(results) == 0 {
		return
	}
	type key struct{ status, reason string }
	counts := map[key]int64{}
	for _, r := range results {
		counts[key{r.status, r.reason}]++
	}
	for k, n := range counts {
		e.telemetry.ExporterAgent365SpanResults.Add(ctx, n, e.resultLabels.option(k.status, k.reason))
		if k.status == resultSent {
			continue
		}
		if !e.dropLog.allow("results/" + g.id.tenant + "/" + g.id.agent + "/" + k.status + "/" + k.reason) {
			continue
		}
		e.logger.Warn("Agent 365 accepted the request but did not route every span to every destination",
			zap.String("status", k.status), zap.String("reason", cut(k.reason, 128)), zap.Int64("results", n),
			zap.String("tenant_id", g.id.tenant), zap.String("agent_id", g.id.agent), zap.String("correlation_id", correlationID(resp.Header)))
	}
}
