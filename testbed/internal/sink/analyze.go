package sink // import "github.com/agent365-otel/agent365exporter/testbed/internal/sink"

import (
	"fmt"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/schema"
)

// mismatch is an identity attribute that names another tenant or agent
// than the route.
type mismatch struct {
	attr, value, routeValue string
}

// spanResult is what one span adds to the report.
type spanResult struct {
	op         string // accepted operation
	rejectedOp string // report key of a rejected span's operation
	rejected   string // why the span is rejected; "" when accepted
	agentName  string
	missing    []string
	mistyped   []string // "server.port is Int, the contract says String"
	mismatches []mismatch
	legacy     []string
	shape      []string
}

// analyze applies the service's operation check and the contract's rules
// to one span sent to (tenant, agent), with the exporter's reading of
// attribute values (admission: observe and checkTypes): blank strings and
// empty values are absent, other values present, and types are pdata's.
func analyze(span ptrace.Span, shape []string, tenant, agent string) spanResult {
	var res spanResult
	attrs := span.Attributes()
	opValue, has := attrs.Get(schema.OperationName)
	switch {
	case !has || absent(opValue):
		res.rejectedOp = "(missing)"
		res.rejected = "gen_ai.operation.name is missing"
	case opValue.Type() != pcommon.ValueTypeStr:
		res.rejectedOp = opValue.AsString()
		res.rejected = fmt.Sprintf("gen_ai.operation.name %s is not a string", res.rejectedOp)
	case !schema.Accepted(opValue.Str()):
		res.rejectedOp = opValue.Str()
		res.rejected = fmt.Sprintf("gen_ai.operation.name %q is not an accepted operation", res.rejectedOp)
	}
	if res.rejected != "" {
		return res
	}
	// Reported under the canonical operation, as the exporter counts it.
	res.op = schema.CanonicalOperation(opValue.Str())
	res.shape = shape

	var p schema.Presence
	for k, v := range attrs.All() {
		if info := schema.Info(k); info.Relevant() {
			observe(&p, info, v)
		}
		if _, ok := schema.Renames[k]; ok {
			res.legacy = append(res.legacy, k)
		}
		if want, ok := schema.TypeOf(k); ok && v.Type() != pcommon.ValueTypeEmpty && !want.Matches(v) {
			res.mistyped = append(res.mistyped, fmt.Sprintf("%s is %s, the contract says %s", k, v.Type(), want))
		}
		switch k {
		case schema.TenantID:
			if m, ok := identityMismatch(k, v, tenant); ok {
				res.mismatches = append(res.mismatches, m)
			}
		case schema.AgentID:
			if m, ok := identityMismatch(k, v, agent); ok {
				res.mismatches = append(res.mismatches, m)
			}
		case "gen_ai.agent.name":
			if v.Type() == pcommon.ValueTypeStr && !absent(v) {
				res.agentName = v.Str()
			}
		}
	}
	slices.Sort(res.legacy)
	slices.SortFunc(res.mismatches, func(a, b mismatch) int { return strings.Compare(a.attr, b.attr) })
	p.ObserveSpan(span)
	p.Missing(res.op, func(k string) { res.missing = append(res.missing, k) })
	return res
}

// observe feeds one attribute to p as the exporter's admission does: blank
// strings and empty values count as absent, other values as present; only
// a string's value matters (whether the agent user id is ZeroGUID).
func observe(p *schema.Presence, info schema.KeyInfo, v pcommon.Value) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		p.ObserveInfo(info, v.Str(), absent(v))
	case pcommon.ValueTypeEmpty:
	default:
		p.ObserveInfo(info, "", false)
	}
}

// absent reports whether v is empty (JSON null) or a blank string, which
// the service treats as absent.
func absent(v pcommon.Value) bool {
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		return true
	case pcommon.ValueTypeStr:
		return strings.TrimSpace(v.Str()) == ""
	}
	return false
}

// identityMismatch reports an identity attribute that names another id
// than the route's: a string other than it (white space aside), or a value
// that is not a string, written as text.
func identityMismatch(attr string, v pcommon.Value, routeValue string) (mismatch, bool) {
	if absent(v) || (v.Type() == pcommon.ValueTypeStr && strings.TrimSpace(v.Str()) == routeValue) {
		return mismatch{}, false
	}
	return mismatch{attr: attr, value: v.AsString(), routeValue: routeValue}, true
}

// rejectReasons counts rejection reasons in first-seen order.
type rejectReasons struct {
	reasons []string
	counts  []int
}

func (r *rejectReasons) add(reason string) {
	if i := slices.Index(r.reasons, reason); i >= 0 {
		r.counts[i]++
		return
	}
	r.reasons = append(r.reasons, reason)
	r.counts = append(r.counts, 1)
}

// message is the partialSuccess errorMessage: empty when nothing is rejected.
func (r *rejectReasons) message(rejected, total int) string {
	if rejected == 0 {
		return ""
	}
	const show = 5
	parts := make([]string, 0, show+1)
	for i, reason := range r.reasons {
		if i == show {
			parts = append(parts, fmt.Sprintf("and %d more reasons", len(r.reasons)-show))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", reason, plural(r.counts[i], "span")))
	}
	return fmt.Sprintf("%d of %d spans rejected: %s", rejected, total, strings.Join(parts, "; "))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
