package sink // import "github.com/agent365-otel/agent365exporter/testbed/internal/sink"

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/agent365-otel/agent365exporter/internal/schema"
)

// Report is what the sink learned about each (tenant, agent) pair: the
// body of GET /_sink/report.
type Report struct {
	Requests int64 `json:"requests"`
	Spans    int64 `json:"spans"`
	Rejected int64 `json:"rejected"`
	// Agents is sorted by tenant, then agent.
	Agents []AgentReport `json:"agents"`
}

// AgentReport covers the requests sent to one (tenant, agent) route.
type AgentReport struct {
	TenantID string `json:"tenant_id"`
	AgentID  string `json:"agent_id"`
	// AgentName is the last gen_ai.agent.name seen.
	AgentName string `json:"agent_name,omitempty"`
	Requests  int64  `json:"requests"`
	// Routes counts requests by route name.
	Routes map[string]int64 `json:"routes"`
	// Spans counts every span received, Rejected the ones whose
	// gen_ai.operation.name the service does not accept.
	Spans    int64 `json:"spans"`
	Rejected int64 `json:"rejected"`
	// RejectedOperations counts rejected spans by operation name
	// ("(missing)" when they have none).
	RejectedOperations map[string]int64 `json:"rejected_operations,omitempty"`
	// Operations are the accepted spans by canonical operation
	// (schema.CanonicalOperation), in schema.Operations order.
	Operations []OperationReport `json:"operations"`
	// IdentityMismatches are spans whose microsoft.tenant.id or
	// gen_ai.agent.id names another tenant or agent than the route.
	IdentityMismatches []IdentityMismatch `json:"identity_mismatches,omitempty"`
	// LegacyAttributes are legacy attribute names seen (keys of schema.Renames).
	LegacyAttributes []LegacyAttribute `json:"legacy_attributes,omitempty"`
	// ShapeProblems are deviations from the a365 body shape.
	ShapeProblems []ShapeProblem `json:"shape_problems,omitempty"`
	// Hints say what to do about the findings.
	Hints []string `json:"hints,omitempty"`
}

// OperationReport covers the accepted spans of one operation.
type OperationReport struct {
	Name  string `json:"name"`
	Spans int64  `json:"spans"`
	// Missing lists the fields the service requires (schema.Presence) that
	// spans lack, attributes and span fields such as parentSpanId, in the
	// contract's order, with the number of spans lacking each.
	Missing []MissingAttribute `json:"missing,omitempty"`
	// Mistyped lists the attributes spans hold with another type than the
	// contract's, as the exporter reports them.
	Mistyped []MistypedAttribute `json:"mistyped,omitempty"`
}

// MistypedAttribute is an attribute some spans hold with another type.
type MistypedAttribute struct {
	// Finding reads "server.port is Int, the contract says String".
	Finding string `json:"finding"`
	Spans   int64  `json:"spans"`
}

// MissingAttribute is a required attribute some spans lack.
type MissingAttribute struct {
	Attribute string `json:"attribute"`
	Spans     int64  `json:"spans"`
}

// IdentityMismatch counts spans carrying Attribute = Value that were sent
// to the route's RouteValue.
type IdentityMismatch struct {
	Attribute  string `json:"attribute"`
	Value      string `json:"value"`
	RouteValue string `json:"route_value"`
	Spans      int64  `json:"spans"`
}

// LegacyAttribute counts spans carrying a legacy attribute name.
type LegacyAttribute struct {
	Name    string `json:"name"`
	Current string `json:"current"`
	Spans   int64  `json:"spans"`
}

// ShapeProblem counts spans with one deviation from the a365 shape.
type ShapeProblem struct {
	Problem string `json:"problem"`
	Spans   int64  `json:"spans"`
}

// Hints of the report.
const (
	HintLegacy = "legacy attribute names found: set upgrade_legacy_attributes: true on the agent365 exporter " +
		"to send them under their current names, or update the instrumentation"
	HintMissing = "spans lack required attributes: the service accepts them, but the Microsoft admin center " +
		"and Defender views stay empty for them"
	HintRejected = "rejected spans are dropped by the service: only spans whose gen_ai.operation.name is one of " +
		"invoke_agent, execute_tool, output_messages, chat, TextCompletion, GenerateContent, apply_guardrail are ingested"
	HintMismatch = "spans name another tenant or agent than the route they were sent to: the service files them " +
		"under the route's identity (or refuses them); check how the exporter resolves identity"
)

// maxDistinct bounds the distinct keys of the open-ended report maps.
const maxDistinct = 100

type agentKey struct{ tenant, agent string }

type opState struct {
	spans    int64
	missing  map[string]int64
	mistyped map[string]int64
}

type agentState struct {
	name        string
	requests    int64
	routes      map[string]int64
	spans       int64
	rejected    int64
	rejectedOps map[string]int64
	ops         map[string]*opState
	mismatches  map[mismatch]int64
	legacy      map[string]int64
	shape       map[string]int64
}

type reportState struct {
	requests, spans, rejected int64
	agents                    map[agentKey]*agentState
}

func newReportState() *reportState {
	return &reportState{agents: map[agentKey]*agentState{}}
}

// add folds one request's spans into the report; the caller holds the lock.
func (r *reportState) add(rt route, results []spanResult) {
	k := agentKey{rt.tenant, rt.agent}
	a := r.agents[k]
	if a == nil {
		a = &agentState{
			routes: map[string]int64{}, rejectedOps: map[string]int64{}, ops: map[string]*opState{},
			mismatches: map[mismatch]int64{}, legacy: map[string]int64{}, shape: map[string]int64{},
		}
		r.agents[k] = a
	}
	r.requests++
	a.requests++
	a.routes[rt.name]++
	for i := range results {
		res := &results[i]
		r.spans++
		a.spans++
		if res.rejected != "" {
			r.rejected++
			a.rejected++
			incBounded(a.rejectedOps, res.rejectedOp)
			continue
		}
		if res.agentName != "" {
			a.name = res.agentName
		}
		op := a.ops[res.op]
		if op == nil {
			op = &opState{missing: map[string]int64{}, mistyped: map[string]int64{}}
			a.ops[res.op] = op
		}
		op.spans++
		for _, m := range res.missing {
			op.missing[m]++
		}
		for _, m := range res.mistyped {
			incBounded(op.mistyped, m)
		}
		for _, m := range res.mismatches {
			if _, ok := a.mismatches[m]; ok || len(a.mismatches) < maxDistinct {
				a.mismatches[m]++
			}
		}
		for _, l := range res.legacy {
			a.legacy[l]++
		}
		for _, p := range res.shape {
			a.shape[p]++
		}
	}
}

func incBounded(m map[string]int64, k string) {
	if _, ok := m[k]; !ok && len(m) >= maxDistinct {
		k = "(other)"
	}
	m[k]++
}

// snapshot copies the state into a Report; the caller holds the lock.
func (r *reportState) snapshot() Report {
	rep := Report{Requests: r.requests, Spans: r.spans, Rejected: r.rejected, Agents: []AgentReport{}}
	for k, a := range r.agents {
		ar := AgentReport{
			TenantID: k.tenant, AgentID: k.agent, AgentName: a.name,
			Requests: a.requests, Routes: maps.Clone(a.routes), Spans: a.spans, Rejected: a.rejected,
			Operations: []OperationReport{},
		}
		if len(a.rejectedOps) > 0 {
			ar.RejectedOperations = maps.Clone(a.rejectedOps)
		}
		missing := false
		for name, op := range a.ops {
			or := OperationReport{Name: name, Spans: op.spans}
			for attr, n := range op.missing {
				or.Missing = append(or.Missing, MissingAttribute{Attribute: attr, Spans: n})
			}
			order := schema.Required(name, schema.Conditions{CallerAgent: true, AgentUser: true})
			slices.SortFunc(or.Missing, func(x, y MissingAttribute) int {
				return cmp.Or(cmp.Compare(indexOr(order, x.Attribute), indexOr(order, y.Attribute)),
					strings.Compare(x.Attribute, y.Attribute))
			})
			for f, n := range op.mistyped {
				or.Mistyped = append(or.Mistyped, MistypedAttribute{Finding: f, Spans: n})
			}
			slices.SortFunc(or.Mistyped, func(x, y MistypedAttribute) int { return strings.Compare(x.Finding, y.Finding) })
			missing = missing || len(or.Missing) > 0
			ar.Operations = append(ar.Operations, or)
		}
		slices.SortFunc(ar.Operations, func(x, y OperationReport) int {
			return cmp.Or(cmp.Compare(indexOr(schema.Operations, x.Name), indexOr(schema.Operations, y.Name)),
				strings.Compare(x.Name, y.Name))
		})
		for m, n := range a.mismatches {
			ar.IdentityMismatches = append(ar.IdentityMismatches,
				IdentityMismatch{Attribute: m.attr, Value: m.value, RouteValue: m.routeValue, Spans: n})
		}
		slices.SortFunc(ar.IdentityMismatches, func(x, y IdentityMismatch) int {
			return cmp.Or(strings.Compare(x.Attribute, y.Attribute), strings.Compare(x.Value, y.Value))
		})
		for name, n := range a.legacy {
			ar.LegacyAttributes = append(ar.LegacyAttributes, LegacyAttribute{Name: name, Current: schema.Renames[name], Spans: n})
		}
		slices.SortFunc(ar.LegacyAttributes, func(x, y LegacyAttribute) int { return strings.Compare(x.Name, y.Name) })
		for p, n := range a.shape {
			ar.ShapeProblems = append(ar.ShapeProblems, ShapeProblem{Problem: p, Spans: n})
		}
		slices.SortFunc(ar.ShapeProblems, func(x, y ShapeProblem) int { return strings.Compare(x.Problem, y.Problem) })
		if a.rejected > 0 {
			ar.Hints = append(ar.Hints, HintRejected)
		}
		if missing {
			ar.Hints = append(ar.Hints, HintMissing)
		}
		if len(ar.IdentityMismatches) > 0 {
			ar.Hints = append(ar.Hints, HintMismatch)
		}
		if len(ar.LegacyAttributes) > 0 {
			ar.Hints = append(ar.Hints, HintLegacy)
		}
		rep.Agents = append(rep.Agents, ar)
	}
	slices.SortFunc(rep.Agents, func(x, y AgentReport) int {
		return cmp.Or(strings.Compare(x.TenantID, y.TenantID), strings.Compare(x.AgentID, y.AgentID))
	})
	return rep
}

// indexOr is the index of v in list, or len(list) when it is not there.
func indexOr(list []string, v string) int {
	if i := slices.Index(list, v); i >= 0 {
		return i
	}
	return len(list)
}

// Report returns the report so far.
func (s *Server) Report() Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.report.snapshot()
}

// WriteText writes rep for people: per tenant and agent, the operations
// with their span counts, each followed by "missing: attr (n of m spans)"
// lines, then rejections, identity mismatches, legacy names and hints.
func WriteText(w io.Writer, rep Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "a365sink report: %s in %s", plural64(rep.Spans, "span"), plural64(rep.Requests, "request"))
	if rep.Rejected > 0 {
		fmt.Fprintf(&b, ", %d rejected", rep.Rejected)
	}
	b.WriteString("\n")
	if len(rep.Agents) == 0 {
		b.WriteString("no spans received on the Agent 365 routes\n")
	}
	tenant := "\x00"
	for _, a := range rep.Agents {
		if a.TenantID != tenant {
			tenant = a.TenantID
			fmt.Fprintf(&b, "\ntenant %s\n", a.TenantID)
		}
		fmt.Fprintf(&b, "  agent %s", a.AgentID)
		if a.AgentName != "" {
			fmt.Fprintf(&b, " (%s)", a.AgentName)
		}
		fmt.Fprintf(&b, ": %s in %s", plural64(a.Spans, "span"), plural64(a.Requests, "request"))
		routes := slices.Sorted(maps.Keys(a.Routes))
		parts := make([]string, 0, len(routes))
		for _, r := range routes {
			parts = append(parts, fmt.Sprintf("%s %d", r, a.Routes[r]))
		}
		fmt.Fprintf(&b, " [%s]\n", strings.Join(parts, ", "))
		for _, op := range a.Operations {
			fmt.Fprintf(&b, "    %s: %s", op.Name, plural64(op.Spans, "span"))
			if len(op.Missing) == 0 {
				b.WriteString(", all required attributes present\n")
			} else {
				b.WriteString("\n")
			}
			for _, m := range op.Missing {
				fmt.Fprintf(&b, "      missing: %s (%d of %d spans)\n", m.Attribute, m.Spans, op.Spans)
			}
			for _, m := range op.Mistyped {
				fmt.Fprintf(&b, "      type: %s (%d of %d spans)\n", m.Finding, m.Spans, op.Spans)
			}
		}
		if a.Rejected > 0 {
			fmt.Fprintf(&b, "    rejected: %s (unknown operation)\n", plural64(a.Rejected, "span"))
			ops := slices.SortedFunc(maps.Keys(a.RejectedOperations), func(x, y string) int {
				return cmp.Or(cmp.Compare(a.RejectedOperations[y], a.RejectedOperations[x]), strings.Compare(x, y))
			})
			for _, op := range ops {
				fmt.Fprintf(&b, "      gen_ai.operation.name %q: %s\n", op, plural64(a.RejectedOperations[op], "span"))
			}
		}
		for _, m := range a.IdentityMismatches {
			fmt.Fprintf(&b, "    identity mismatch: %s %q on spans sent to %q (%s)\n", m.Attribute, m.Value, m.RouteValue, plural64(m.Spans, "span"))
		}
		for _, l := range a.LegacyAttributes {
			fmt.Fprintf(&b, "    legacy attribute: %s, now %s (%s)\n", l.Name, l.Current, plural64(l.Spans, "span"))
		}
		for _, p := range a.ShapeProblems {
			fmt.Fprintf(&b, "    shape: %s (%s)\n", p.Problem, plural64(p.Spans, "span"))
		}
		for _, h := range a.Hints {
			fmt.Fprintf(&b, "    hint: %s\n", h)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func plural64(n int64, word string) string { return plural(int(n), word) }
