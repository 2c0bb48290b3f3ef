package schema // import "github.com/agent365-otel/agent365exporter/internal/schema"

import (
	"math/bits"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Presence records what the contract's rules need to know of one span:
// which fields it has, whether a caller agent is named, and whether the
// agent user id is ZeroGUID. Feed it every attribute with Observe (or
// ObserveInfo) and the span's own fields with ObserveSpan, then ask
// Complete or Missing. The zero value is ready to use; it does not allocate.
//
// A legacy name counts as its field. When the agent user id is set under
// several names, the current name decides whether it is ZeroGUID, else the
// first legacy name in the contract's order: the value that
// upgrade_legacy_attributes puts under the current name.
type Presence struct {
	keys uint64
	// agentUserFrom is 1 + the legacy rank of the agent user id observed
	// (1: the current name); 0 when none is.
	agentUserFrom uint8
	agentUserZero bool
}

// Observe records one attribute; empty is true when its value is empty or
// blank, which the service treats as absent.
func (p *Presence) Observe(key, value string, empty bool) {
	p.ObserveInfo(Info(key), value, empty)
}

// ObserveInfo is Observe for a key whose Info is known. value matters only
// for the agent user id (RoleAgentUser); for a value that is not a string,
// pass "" and empty false.
func (p *Presence) ObserveInfo(info KeyInfo, value string, empty bool) {
	if empty || info.Bit == 0 {
		return
	}
	p.keys |= info.Bit
	if info.Role == RoleAgentUser && (p.agentUserFrom == 0 || info.Legacy+1 < p.agentUserFrom) {
		p.agentUserFrom = info.Legacy + 1
		p.agentUserZero = value == ZeroGUID
	}
}

// ObserveSpanFields records the span's own fields that are set.
func (p *Presence) ObserveSpanFields(f SpanFields) {
	for i, bit := range contract.spanBits {
		if f&(1<<i) != 0 {
			p.keys |= bit
		}
	}
}

// ObserveSpan records the span's own fields that are set: ids that are not
// all zero, times that are not zero.
func (p *Presence) ObserveSpan(span ptrace.Span) { p.ObserveSpanFields(SpanFieldsOf(span)) }

// SpanFieldsOf returns the fields of span that are set.
func SpanFieldsOf(span ptrace.Span) SpanFields {
	var f SpanFields
	if !span.TraceID().IsEmpty() {
		f |= SpanTraceID
	}
	if !span.SpanID().IsEmpty() {
		f |= SpanSpanID
	}
	if !span.ParentSpanID().IsEmpty() {
		f |= SpanParentSpanID
	}
	if span.StartTimestamp() != 0 {
		f |= SpanStartTime
	}
	if span.EndTimestamp() != 0 {
		f |= SpanEndTime
	}
	return f
}

// Relevant reports whether Observe needs a key of this Info.
func (i KeyInfo) Relevant() bool { return i.Bit != 0 }

// Has reports whether the span has field name (under any of its names).
func (p *Presence) Has(name string) bool {
	bit := contract.bits[name]
	return bit != 0 && p.keys&bit != 0
}

// Conditions returns the facts of the span the rules test.
func (p *Presence) Conditions() Conditions {
	return Conditions{CallerAgent: p.keys&contract.callerAgentBit != 0, AgentUser: p.agentUser() == agentUserSet}
}

func (p *Presence) agentUser() agentUserState {
	switch {
	case p.agentUserFrom == 0:
		return agentUserAbsent
	case p.agentUserZero:
		return agentUserZero
	}
	return agentUserSet
}

// need is the mask of the fields required of the span, of operation op.
func (p *Presence) need(op string) uint64 {
	return contract.need(op, p.keys&contract.callerAgentBit != 0, p.agentUser())
}

// Complete reports whether a span of operation op has every field the
// contract requires of a custom agent.
func (p *Presence) Complete(op string) bool {
	return p.need(op)&^p.keys == 0
}

// Missing calls fn with each field a span of operation op requires and
// lacks, in the order of Fields.
func (p *Presence) Missing(op string, fn func(field string)) {
	eachField(p.need(op)&^p.keys, fn)
}

func eachField(mask uint64, fn func(field string)) {
	for mask != 0 {
		fn(contract.names[bits.TrailingZeros64(mask)])
		mask &= mask - 1
	}
}
