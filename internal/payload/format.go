// Package payload writes the request bodies the Agent 365 ingestion service
// accepts, straight from pdata into pooled byte buffers, and cuts them into
// requests of an exact maximum size.
package payload // import "github.com/agent365-otel/agent365exporter/internal/payload"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Format writes one body shape. A body is
//
//	ResourceOpen (ScopeOpen span{,span} ScopeClose){,ScopeOpen ...} ResourceClose
//
// with exactly one resource, so that the size of any selection of spans is
// known exactly before the body is built.
type Format interface {
	// AppendResourceOpen starts a body for resource res.
	AppendResourceOpen(dst []byte, res pcommon.Resource, schemaURL string) []byte
	// AppendScopeOpen starts the list of spans of scope sc.
	AppendScopeOpen(dst []byte, sc pcommon.InstrumentationScope, schemaURL string) []byte
	// AppendSpan writes one span.
	AppendSpan(dst []byte, span ptrace.Span, meta SpanMeta) []byte
}

// SpanMeta is what the exporter knows of a span beyond its pdata.
type SpanMeta struct {
	// Op is the span's gen_ai.operation.name; attribute rules may depend on it.
	Op string
	// TenantID and AgentID, when set, are written as microsoft.tenant.id and
	// gen_ai.agent.id: the span's identity came from elsewhere (the resource,
	// a legacy key, the configured defaults) and the payload names it.
	TenantID, AgentID string
}

// The closing bytes are the same for every format.
const (
	ScopeClose    = "]}"
	ResourceClose = "]}]}"
)

// Action says what a Rewriter wants written for an attribute.
type Action int

const (
	// Keep writes the attribute as it is.
	Keep Action = iota
	// Drop leaves the attribute out.
	Drop
	// Replace writes the returned string instead of the value.
	Replace
)

// Rewriter changes span and event attributes while they are written,
// leaving the pdata untouched (a retried batch is rewritten the same way).
type Rewriter interface {
	Rewrite(op, key string, v pcommon.Value) (Action, string)
}

// Options are the attribute rules shared by every format.
type Options struct {
	// SuppressInvokeAgentInput leaves gen_ai.input.messages out of invoke_agent spans.
	SuppressInvokeAgentInput bool
	// Rewriter, when set, sees every span and event attribute.
	Rewriter Rewriter
}

// rewrite applies the options to one attribute.
func (o *Options) rewrite(op, key string, v pcommon.Value) (Action, string) {
	if o.SuppressInvokeAgentInput && op == "invoke_agent" && key == "gen_ai.input.messages" {
		return Drop, ""
	}
	if o.Rewriter != nil {
		return o.Rewriter.Rewrite(op, key, v)
	}
	return Keep, ""
}

// Identity keys: the payload names the identity the span was sent under.
const (
	tenantKey = "microsoft.tenant.id"
	agentKey  = "gen_ai.agent.id"
)

// memberFunc writes one attribute of a format: key with value v, or with
// the string repl when replaced. n is the number written before it.
type memberFunc func(dst []byte, n int, key string, v pcommon.Value, repl string, replaced bool) []byte

// appendMembers writes the attributes of m with member, for every format
// alike: the rewrites of opts apply, and the identity of meta, when set,
// takes the place of the span's own under those keys, written last. It
// returns how many it wrote.
func appendMembers(dst []byte, m pcommon.Map, opts *Options, meta SpanMeta, member memberFunc) ([]byte, int) {
	n := 0
	for k, v := range m.All() {
		if (meta.TenantID != "" && k == tenantKey) || (meta.AgentID != "" && k == agentKey) {
			continue
		}
		action, repl := Keep, ""
		if opts != nil {
			if action, repl = opts.rewrite(meta.Op, k, v); action == Drop {
				continue
			}
		}
		dst = member(dst, n, k, v, repl, action == Replace)
		n++
	}
	if meta.TenantID != "" {
		dst = member(dst, n, tenantKey, pcommon.Value{}, meta.TenantID, true)
		n++
	}
	if meta.AgentID != "" {
		dst = member(dst, n, agentKey, pcommon.Value{}, meta.AgentID, true)
		n++
	}
	return dst, n
}

func (o *Options) active() bool {
	return o.SuppressInvokeAgentInput || o.Rewriter != nil
}
