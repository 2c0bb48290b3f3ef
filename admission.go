package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/schema"
)

// admittingExporter admits spans before exporterhelper's queue takes them:
// what the spans alone decide (legacy names, identity, operation, required
// attributes) is settled once, and spans that cannot be sent are dropped
// and counted here. So the queue never carries them, and exporterhelper's
// otelcol_exporter_sent_spans counts only spans the exporter then
// delivers, holds for later or drops on the service's answer.
type admittingExporter struct {
	exporter.Traces
	exp *agent365Exporter
}

func (a *admittingExporter) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	if a.exp.admit(ctx, td) == 0 {
		return nil
	}
	return a.Traces.ConsumeTraces(ctx, td)
}

// Capabilities: admission removes spans and renames legacy keys in place.
func (a *admittingExporter) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

// admission is the scratch state of one admit call.
type admission struct {
	presence schema.Presence
	ids      idCache
	drops    [numDropReasons]int64
	upgraded int
	coerced  int
	findings map[identity]*agentFindings
}

var admissions = sync.Pool{New: func() any { return &admission{findings: map[identity]*agentFindings{}} }}

// admit upgrades legacy names, resolves each span's identity and operation,
// checks its required attributes, and removes from td the spans that
// cannot be sent, counting each by reason. It returns the spans left.
func (e *agent365Exporter) admit(ctx context.Context, td ptrace.Traces) int {
	a := admissions.Get().(*admission)
	defer func() {
		a.ids = idCache{}
		a.drops = [numDropReasons]int64{}
		a.upgraded, a.coerced = 0, 0
		clear(a.findings)
		admissions.Put(a)
	}()
	upgrade := e.cfg.UpgradeLegacyAttributes
	var presence *schema.Presence
	if e.checks != nil {
		presence = &a.presence
	}
	td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		if upgrade {
			a.upgraded += upgradeLegacy(rs.Resource().Attributes())
		}
		res := e.identities.resource(rs.Resource().Attributes())
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			ss.Spans().RemoveIf(func(span ptrace.Span) bool {
				if presence != nil {
					*presence = schema.Presence{}
				}
				if upgrade && span.Events().Len() > 0 {
					a.upgraded += upgradeEvents(span)
				}
				attrs := span.Attributes()
				got := e.identities.resolve(attrs, res, presence, &a.ids)
				if upgrade && got.legacy {
					if n := upgradeLegacy(attrs); n > 0 {
						a.upgraded += n
						if presence != nil {
							*presence = schema.Presence{}
						}
						got = e.identities.resolve(attrs, res, presence, &a.ids)
					}
				}
				if !got.ok {
					a.drops[got.drop]++
					return true
				}
				if span.TraceID().IsEmpty() || span.SpanID().IsEmpty() {
					// The service refuses a whole request over one such span.
					a.drops[dropMissingSpanID]++
					return true
				}
				if presence != nil {
					a.coerced += e.checkTypes(a.findingsOf(got.id), attrs, got.meta.Op)
				}
				if presence != nil && !e.check(a.findingsOf(got.id), presence, span, got.meta) {
					a.drops[dropMissingRequired]++
					return true
				}
				return false
			})
			return ss.Spans().Len() == 0
		})
		return rs.ScopeSpans().Len() == 0
	})
	for r, n := range a.drops {
		if n > 0 {
			e.drop(ctx, dropReason(r), int(n))
		}
	}
	if a.upgraded > 0 {
		e.telemetry.ExporterAgent365UpgradedAttributes.Add(ctx, int64(a.upgraded))
	}
	if a.coerced > 0 {
		e.telemetry.ExporterAgent365CoercedAttributes.Add(ctx, int64(a.coerced))
	}
	if e.checks != nil {
		e.checks.record(ctx, a.findings)
	}
	return td.SpanCount()
}

func (a *admission) findingsOf(id identity) *agentFindings {
	f := a.findings[id]
	if f == nil {
		f = newAgentFindings()
		a.findings[id] = f
	}
	return f
}
