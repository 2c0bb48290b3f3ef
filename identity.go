package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/agent365-otel/agent365exporter/internal/discovery"
	"github.com/agent365-otel/agent365exporter/internal/payload"
	"github.com/agent365-otel/agent365exporter/internal/schema"
)

// identity is the (tenant, agent) pair a span is sent for.
type identity struct {
	tenant, agent string
}

// idValue is an identity attribute as found: absent, a usable string, or
// present but unusable.
type idValue struct {
	value   string // trimmed
	raw     string // as the attribute holds it
	present bool
	invalid bool
}

func readID(v pcommon.Value, t pcommon.ValueType) idValue {
	switch t {
	case pcommon.ValueTypeStr:
	case pcommon.ValueTypeEmpty:
		return idValue{}
	case pcommon.ValueTypeInt:
		// Microsoft's SDKs send an int id as its decimal string. raw stays
		// empty, unlike value, so the payload names the id as that string.
		return idValue{value: strconv.FormatInt(v.Int(), 10), present: true}
	default:
		return idValue{present: true, invalid: true}
	}
	raw := v.Str()
	s := strings.TrimSpace(raw)
	if s == "" {
		return idValue{}
	}
	// Whether the id is usable is decided only for the value chosen (resolve).
	return idValue{value: s, raw: raw, present: true}
}

// idFields are the identity and operation attributes of one attribute map.
type idFields struct {
	op                   pcommon.Value
	hasOp                bool
	tenant, tenantLegacy idValue
	agent, agentPlatform idValue
	legacy               bool // a legacy key is present
}

// scanIDs reads, in one pass, the identity keys and the operation of m,
// whether m holds legacy keys, and (into p, when given) what the
// contract's rules need to know of its attributes.
func scanIDs(m pcommon.Map, p *schema.Presence) idFields {
	var f idFields
	for k, v := range m.All() {
		info := schema.Info(k)
		if info == (schema.KeyInfo{}) {
			continue
		}
		t := v.Type()
		f.legacy = f.legacy || info.Legacy > 0
		switch info.Role {
		case schema.RoleOperation:
			f.op, f.hasOp = v, true
		case schema.RoleTenant:
			f.tenant = readID(v, t)
		case schema.RoleTenantLegacy:
			f.tenantLegacy = readID(v, t)
		case schema.RoleAgent:
			f.agent = readID(v, t)
		case schema.RoleAgentPlatform:
			f.agentPlatform = readID(v, t)
		}
		if p != nil && info.Relevant() {
			observe(p, info, v, t)
		}
	}
	return f
}

// first returns the first present value; later sources are fallbacks only
// when earlier ones are absent, never when they are invalid, so a span is
// never sent under an identity it did not name.
func first(vals ...idValue) idValue {
	for _, v := range vals {
		if v.present {
			return v
		}
	}
	return idValue{}
}

// identityResolver finds each span's identity and operation.
type identityResolver struct {
	operations   []string
	acceptChat   bool // "chat" in any letter case; the service compares it so
	fromResource bool
	defTenant    idValue
	defAgent     idValue
	// tenants and agents the spans may name; nil allows all.
	tenants, agents *allowList
}

func newIdentityResolver(cfg *Config) *identityResolver {
	r := &identityResolver{
		fromResource: cfg.Identity.FromResource,
		tenants:      newAllowList(cfg.Identity.AllowedTenants, true),
		agents:       newAllowList(cfg.Identity.AllowedAgents, false),
	}
	for _, op := range cfg.Operations {
		op = strings.TrimSpace(op)
		r.operations = append(r.operations, op)
		if schema.CanonicalOperation(op) == schema.OperationChat {
			r.acceptChat = true
		}
	}
	r.defTenant = readID(pcommon.NewValueStr(cfg.Identity.DefaultTenantID), pcommon.ValueTypeStr)
	r.defAgent = readID(pcommon.NewValueStr(cfg.Identity.DefaultAgentID), pcommon.ValueTypeStr)
	return r
}

// resourceIDs are the identity values a resource offers its spans.
type resourceIDs struct {
	tenant, agent idValue
}

func (r *identityResolver) resource(m pcommon.Map) resourceIDs {
	if !r.fromResource {
		return resourceIDs{}
	}
	f := scanIDs(m, nil)
	return resourceIDs{tenant: first(f.tenant, f.tenantLegacy), agent: first(f.agent, f.agentPlatform)}
}

// resolution is what resolve found of a span: its identity and operation,
// or why it cannot be sent.
type resolution struct {
	id identity
	// meta names the identity in the payload when the span's own current
	// keys do not.
	meta payload.SpanMeta
	drop dropReason
	ok   bool
	// legacy: the attributes hold legacy names (upgrade them and resolve again).
	legacy bool
}

// resolve reads, in one pass over attrs, the span's identity and
// operation, and feeds p (when given) what the contract's rules need to
// know of its attributes.
func (r *identityResolver) resolve(attrs pcommon.Map, res resourceIDs, p *schema.Presence, ids *idCache) resolution {
	f := scanIDs(attrs, p)
	out := resolution{legacy: f.legacy}
	if !f.hasOp || f.op.Type() == pcommon.ValueTypeEmpty || (f.op.Type() == pcommon.ValueTypeStr && f.op.Str() == "") {
		out.drop = dropMissingOperation
		return out
	}
	if f.op.Type() != pcommon.ValueTypeStr || !r.accepts(f.op.Str()) {
		out.drop = dropUnsupportedOperation
		return out
	}
	out.meta.Op = f.op.Str()
	tenant := first(f.tenant, f.tenantLegacy, res.tenant, r.defTenant)
	agent := first(f.agent, f.agentPlatform, res.agent, r.defAgent)
	switch {
	case !tenant.present:
		out.drop = dropMissingTenant
	case !ids.usable(&ids.tenant, tenant):
		out.drop = dropInvalidTenant
	case !r.tenants.allows(tenant.value):
		out.drop = dropTenantNotAllowed
	case !agent.present:
		out.drop = dropMissingAgent
	case !ids.usable(&ids.agent, agent):
		out.drop = dropInvalidAgent
	case !r.agents.allows(agent.value):
		out.drop = dropAgentNotAllowed
	default:
		out.ok = true
	}
	if !out.ok {
		return out
	}
	if !f.tenant.present || f.tenant.value != f.tenant.raw {
		out.meta.TenantID = tenant.value
	}
	if !f.agent.present || f.agent.value != f.agent.raw {
		out.meta.AgentID = agent.value
	}
	out.id = identity{tenant: tenant.value, agent: agent.value}
	return out
}

func (r *identityResolver) accepts(op string) bool {
	for _, o := range r.operations {
		if o == op {
			return true
		}
	}
	return r.acceptChat && schema.CanonicalOperation(op) == schema.OperationChat
}

// allowList is the set of ids of identity.allowed_tenants or
// allowed_agents. A nil *allowList allows every id.
type allowList struct {
	ids      map[string]struct{}
	foldCase bool // ids are stored in lower case
}

func newAllowList(ids []string, foldCase bool) *allowList {
	if len(ids) == 0 {
		return nil
	}
	l := &allowList{ids: make(map[string]struct{}, len(ids)), foldCase: foldCase}
	for _, id := range ids {
		if foldCase {
			id = strings.ToLower(id)
		}
		l.ids[id] = struct{}{}
	}
	return l
}

func (l *allowList) allows(id string) bool {
	if l == nil {
		return true
	}
	if _, ok := l.ids[id]; ok || !l.foldCase {
		return ok
	}
	_, ok := l.ids[strings.ToLower(id)]
	return ok
}

// observe feeds one attribute to p; blank strings and empty values count
// as absent. Only a string's value matters (the agent user id).
func observe(p *schema.Presence, info schema.KeyInfo, v pcommon.Value, t pcommon.ValueType) {
	switch t {
	case pcommon.ValueTypeStr:
		s := v.Str()
		p.ObserveInfo(info, s, blank(s))
	case pcommon.ValueTypeEmpty:
	default:
		p.ObserveInfo(info, "", false)
	}
}

// blank reports whether s is empty or only white space, looking past the
// first byte only when it is a space.
func blank(s string) bool {
	return s == "" || (s[0] <= ' ' || s[0] >= 0x80) && strings.TrimSpace(s) == ""
}

// idCache remembers, within one push, the last tenant and agent ids that
// passed discovery.CheckID: most spans of a batch repeat them.
type idCache struct {
	tenant, agent string
}

func (c *idCache) usable(id *string, v idValue) bool {
	if v.invalid {
		return false
	}
	if v.value == *id {
		return true
	}
	if discovery.CheckID(v.value) != nil {
		return false
	}
	*id = v.value
	return true
}
