package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/agent365-otel/agent365exporter/internal/metadata"
	"github.com/agent365-otel/agent365exporter/internal/payload"
	"github.com/agent365-otel/agent365exporter/internal/schema"
)

// missingKey is a required attribute a span of an operation lacked.
type missingKey struct {
	op, attr string
}

// mistypedKey is an attribute of a span of an operation that holds a
// value of another type than the contract's.
type mistypedKey struct {
	op, attr string
	got      string // the value's type
	want     schema.Type
}

// agentFindings counts, for one agent, spans checked, spans missing each
// required attribute, and spans holding an attribute of another type.
type agentFindings struct {
	checked  map[string]int64 // by operation
	missing  map[missingKey]int64
	mistyped map[mistypedKey]int64
}

func newAgentFindings() *agentFindings {
	return &agentFindings{checked: map[string]int64{}, missing: map[missingKey]int64{}, mistyped: map[mistypedKey]int64{}}
}

// maxPendingAgents bounds the agents a log summary remembers.
const maxPendingAgents = 1000

// requiredChecks counts spans missing required attributes and logs, at most
// once per interval, a summary that names the agents.
type requiredChecks struct {
	enforce   bool
	coerce    bool
	interval  time.Duration
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder

	mu      sync.Mutex
	pending map[identity]*agentFindings
	last    time.Time
	opts    map[missingKey]metric.AddOption
	now     func() time.Time
}

func newRequiredChecks(cfg ValidationConfig, logger *zap.Logger, tb *metadata.TelemetryBuilder) *requiredChecks {
	if cfg.Mode == ValidationOff {
		return nil
	}
	return &requiredChecks{
		enforce: cfg.Mode == ValidationEnforce, coerce: cfg.CoerceTypes, interval: cfg.LogInterval, logger: logger, telemetry: tb,
		pending: map[identity]*agentFindings{}, opts: map[missingKey]metric.AddOption{}, now: time.Now,
	}
}

// record merges one batch's findings: metrics now, the log summary when due.
func (v *requiredChecks) record(ctx context.Context, findings map[identity]*agentFindings) {
	if len(findings) == 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for id, f := range findings {
		for k, n := range f.missing {
			opt, ok := v.opts[k]
			if !ok {
				opt = metric.WithAttributeSet(attribute.NewSet(attribute.String("operation", k.op), attribute.String("attribute", k.attr)))
				v.opts[k] = opt
			}
			v.telemetry.ExporterAgent365MissingAttributes.Add(ctx, n, opt)
		}
		for k, n := range f.mistyped {
			mk := missingKey{op: k.op, attr: k.attr}
			opt, ok := v.opts[mk]
			if !ok {
				opt = metric.WithAttributeSet(attribute.NewSet(attribute.String("operation", k.op), attribute.String("attribute", k.attr)))
				v.opts[mk] = opt
			}
			v.telemetry.ExporterAgent365MistypedAttributes.Add(ctx, n, opt)
		}
		if len(f.missing) == 0 && len(f.mistyped) == 0 {
			continue
		}
		p, ok := v.pending[id]
		if !ok {
			if len(v.pending) >= maxPendingAgents {
				continue
			}
			p = newAgentFindings()
			v.pending[id] = p
		}
		for op, n := range f.checked {
			p.checked[op] += n
		}
		for k, n := range f.missing {
			p.missing[k] += n
		}
		for k, n := range f.mistyped {
			p.mistyped[k] += n
		}
	}
	if now := v.now(); len(v.pending) > 0 && now.Sub(v.last) >= v.interval {
		v.last = now
		v.flush()
	}
}

// flush logs one line per agent and forgets the findings.
func (v *requiredChecks) flush() {
	msg := "Spans miss attributes Agent 365 requires; the admin center and Defender show incomplete data for these agents until they set them"
	if v.enforce {
		msg = "Dropped spans missing attributes Agent 365 requires (validation.mode: enforce)"
	}
	for id, f := range v.pending {
		fields := []zap.Field{zap.String("tenant_id", id.tenant), zap.String("agent_id", id.agent)}
		if len(f.missing) > 0 {
			fields = append(fields, zap.String("missing", f.summary()))
		}
		if len(f.mistyped) > 0 {
			fields = append(fields, zap.String("mistyped", f.typeSummary()))
		}
		m := msg
		if len(f.missing) == 0 {
			m = "Spans hold attributes of another type than Agent 365's contract says; set validation.coerce_types to convert those that convert without loss"
		}
		v.logger.Warn(m, fields...)
	}
	clear(v.pending)
}

// summary reads "invoke_agent: user.email (3 of 10 spans), client.address (10 of 10 spans); chat: ...".
func (f *agentFindings) summary() string {
	byOp := map[string][]string{}
	keys := make([]missingKey, 0, len(f.missing))
	for k := range f.missing {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b missingKey) int {
		if c := strings.Compare(a.op, b.op); c != 0 {
			return c
		}
		return strings.Compare(a.attr, b.attr)
	})
	var ops []string
	for _, k := range keys {
		if _, ok := byOp[k.op]; !ok {
			ops = append(ops, k.op)
		}
		byOp[k.op] = append(byOp[k.op], fmt.Sprintf("%s (%d of %d spans)", k.attr, f.missing[k], f.checked[k.op]))
	}
	parts := make([]string, 0, len(ops))
	for _, op := range ops {
		parts = append(parts, op+": "+strings.Join(byOp[op], ", "))
	}
	return strings.Join(parts, "; ")
}

// typeSummary reads "chat: server.port is Int, the contract says String (3 of 10 spans); ...".
func (f *agentFindings) typeSummary() string {
	keys := make([]mistypedKey, 0, len(f.mistyped))
	for k := range f.mistyped {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b mistypedKey) int {
		return strings.Compare(a.op+"\x00"+a.attr+"\x00"+a.got, b.op+"\x00"+b.attr+"\x00"+b.got)
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %s is %s, the contract says %s (%d of %d spans)", k.op, k.attr, k.got, k.want, f.mistyped[k], f.checked[k.op]))
	}
	return strings.Join(parts, "; ")
}

// checkTypes records in f the attributes of a span whose value has another
// type than the contract's, or, with coerce_types, converts those that
// convert without loss. It returns how many it converted.
func (e *agent365Exporter) checkTypes(f *agentFindings, attrs pcommon.Map, op string) int {
	converted := 0
	for k, v := range attrs.All() {
		want, ok := schema.TypeOf(k)
		if !ok || want.Matches(v) || v.Type() == pcommon.ValueTypeEmpty {
			continue
		}
		if e.checks.coerce && want.Convert(v) {
			converted++
			continue
		}
		f.mistyped[mistypedKey{op: schema.CanonicalOperation(op), attr: k, got: v.Type().String(), want: want}]++
	}
	return converted
}

// check records the required fields a span lacks in f and reports
// whether the span may be sent.
func (e *agent365Exporter) check(f *agentFindings, p *schema.Presence, span ptrace.Span, meta payload.SpanMeta) bool {
	// The identity the payload names counts as present.
	if meta.TenantID != "" {
		p.Observe(schema.TenantID, meta.TenantID, false)
	}
	if meta.AgentID != "" {
		p.Observe(schema.AgentID, meta.AgentID, false)
	}
	p.ObserveSpan(span)
	// Counted under the canonical operation: "Chat" and "CHAT" are "chat".
	op := schema.CanonicalOperation(meta.Op)
	f.checked[op]++
	if p.Complete(op) {
		return true
	}
	p.Missing(op, func(field string) {
		f.missing[missingKey{op: op, attr: field}]++
	})
	return !e.checks.enforce
}
