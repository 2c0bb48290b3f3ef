package agent365receiver // import "github.com/agent365-otel/agent365exporter/receiver"

import (
	"fmt"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The identity keys, as the SDKs and the exporter read them: the current
// tenant key, then its legacy name; the agent id, then the platform id
// (the .NET SDK's fallback). A span's own attributes come first, then its
// resource's.
const (
	keyTenant        = "microsoft.tenant.id"
	keyTenantLegacy  = "tenant.id"
	keyAgent         = "gen_ai.agent.id"
	keyAgentPlatform = "microsoft.a365.agent.platform.id"
)

// Reasons a span is refused, the reason attribute of
// otelcol_receiver_agent365_rejected_spans.
const (
	reasonTenantMismatch = "tenant_mismatch"
	reasonAgentMismatch  = "agent_mismatch"
)

// identity is the (tenant, agent) of a request's URL. tenant is empty when
// a legacy route came without x-ms-tenant-id: spans are then checked for
// their agent only.
type identity struct {
	tenant, agent string
}

// idValue is an identity attribute as found.
type idValue struct {
	value   string // trimmed; an int id as its decimal string
	present bool   // set and not blank
	usable  bool   // a string or an int
}

func readID(m pcommon.Map, keys ...string) idValue {
	for _, k := range keys {
		v, ok := m.Get(k)
		if !ok {
			continue
		}
		switch v.Type() {
		case pcommon.ValueTypeStr:
			if s := strings.TrimSpace(v.Str()); s != "" {
				return idValue{value: s, present: true, usable: true}
			}
		case pcommon.ValueTypeInt:
			return idValue{value: strconv.FormatInt(v.Int(), 10), present: true, usable: true}
		case pcommon.ValueTypeEmpty:
		default:
			// Present, but no id: it names no identity this request has.
			return idValue{value: v.AsString(), present: true}
		}
	}
	return idValue{}
}

// sameID compares ids without case: tenant and agent ids are GUIDs (or,
// for tenants, domain names), which Entra compares without case.
func sameID(v idValue, want string) bool {
	return v.usable && strings.EqualFold(v.value, want)
}

// rejection tallies the spans refused for naming another identity.
type rejection struct {
	tenant, agent int
	// first is the first refused span, for the answer's message.
	first string
}

func (r *rejection) total() int { return r.tenant + r.agent }

func (r *rejection) note(reason, detail string) {
	if reason == reasonTenantMismatch {
		r.tenant++
	} else {
		r.agent++
	}
	if r.first == "" {
		r.first = detail
	}
}

// message is the errorMessage of the answer's partialSuccess.
func (r *rejection) message(id identity, spans int) string {
	n := r.total()
	if n == 0 {
		return ""
	}
	where := "agent " + id.agent
	if id.tenant != "" {
		where = "tenant " + id.tenant + ", agent " + id.agent
	}
	return fmt.Sprintf("%d of %d spans rejected: they name another tenant or agent than the request's URL (%s); first: %s",
		n, spans, where, r.first)
}

// applyIdentity checks each span's identity against the URL's. A span that
// names another tenant or agent, on itself or through its resource, is
// removed and tallied: the request's token was issued for the URL's
// identity, not the span's. A span that names none gets the URL's,
// on its own attributes, so that later components need not look further.
// Empty scopes and resources left behind are removed.
func applyIdentity(td ptrace.Traces, id identity) rejection {
	var rej rejection
	td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		res := rs.Resource().Attributes()
		resTenant := readID(res, keyTenant, keyTenantLegacy)
		resAgent := readID(res, keyAgent, keyAgentPlatform)
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			ss.Spans().RemoveIf(func(span ptrace.Span) bool {
				return !checkSpan(span, id, resTenant, resAgent, &rej)
			})
			return ss.Spans().Len() == 0
		})
		return rs.ScopeSpans().Len() == 0
	})
	return rej
}

// checkSpan reports whether span may go on, noting it in rej if not, and
// sets the URL's identity on it where it names none.
func checkSpan(span ptrace.Span, id identity, resTenant, resAgent idValue, rej *rejection) bool {
	attrs := span.Attributes()
	tenant := first(readID(attrs, keyTenant, keyTenantLegacy), resTenant)
	agent := first(readID(attrs, keyAgent, keyAgentPlatform), resAgent)
	if id.tenant != "" && tenant.present && !sameID(tenant, id.tenant) {
		rej.note(reasonTenantMismatch, fmt.Sprintf("span %q names tenant %q", span.Name(), tenant.value))
		return false
	}
	if agent.present && !sameID(agent, id.agent) {
		rej.note(reasonAgentMismatch, fmt.Sprintf("span %q names agent %q", span.Name(), agent.value))
		return false
	}
	if id.tenant != "" && !readID(attrs, keyTenant, keyTenantLegacy).present {
		attrs.PutStr(keyTenant, id.tenant)
	}
	if !readID(attrs, keyAgent, keyAgentPlatform).present {
		attrs.PutStr(keyAgent, id.agent)
	}
	return true
}

// first is the first present value: a span's own key wins over its
// resource's, even when the span's is unusable, so that a span is never
// taken under an identity it did not name.
func first(vals ...idValue) idValue {
	for _, v := range vals {
		if v.present {
			return v
		}
	}
	return idValue{}
}
