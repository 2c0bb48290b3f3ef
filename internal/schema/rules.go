package schema // import "github.com/agent365-otel/agent365exporter/internal/schema"

import (
	"fmt"
	"slices"
)

// agentUserState is what a span's agent user id says for the rules.
type agentUserState uint8

const (
	agentUserAbsent agentUserState = iota
	agentUserZero                  // ZeroGUID: no agent user
	agentUserSet
	numAgentUserStates
)

// facts are what the contract's conditions test, for a custom agent's span.
type facts struct {
	op          string // canonical; "" for an operation no rule names
	callerAgent bool
	agentUser   agentUserState
}

// holds evaluates c as the service does, for a custom agent.
func (c Condition) holds(f facts) bool {
	var present bool
	var value string // "" when the value is none that a condition names
	switch c.Field {
	case OperationName:
		present, value = true, f.op
	case CallerAgentID:
		present = f.callerAgent
	case AgentUserID:
		present = f.agentUser != agentUserAbsent
		if f.agentUser == agentUserZero {
			value = ZeroGUID
		}
	case IngestionSource:
		// None of Microsoft's platforms: absent for every condition.
	}
	in := false
	for _, v := range c.Values {
		if present && (v == Any || v == value && value != "") {
			in = true
		}
	}
	return in != c.Not
}

func (r Rule) holds(f facts) bool {
	for _, alt := range r {
		all := true
		for _, c := range alt {
			all = all && c.holds(f)
		}
		if all {
			return true
		}
	}
	return false
}

// checkable reports why the checker cannot evaluate c exactly: it tracks
// the operation's value, whether a caller agent is present, and whether
// the agent user id is present and ZeroGUID.
func (c Condition) checkable() error {
	switch c.Field {
	case OperationName, IngestionSource:
		return nil
	case CallerAgentID:
		if slices.Equal(c.Values, []string{Any}) {
			return nil
		}
	case AgentUserID:
		for _, v := range c.Values {
			if v != Any && v != ZeroGUID {
				return fmt.Errorf("condition on %s tests the value %q", c.Field, v)
			}
		}
		return nil
	}
	return fmt.Errorf("condition on %s %v is not evaluated by the checker", c.Field, c.Values)
}

// SpanFields are the fields of a span itself, not attributes, that the
// contract requires: the caller tells Presence which a span has.
type SpanFields uint8

// Span fields.
const (
	SpanTraceID SpanFields = 1 << iota
	SpanSpanID
	SpanParentSpanID
	SpanStartTime
	SpanEndTime
)

var spanFieldNames = [...]string{"traceId", "spanId", "parentSpanId", "startTimeUnixNano", "endTimeUnixNano"}

// compiled is Fields made fast to evaluate: every field a rule needs has a
// bit, and the fields required for each combination of facts are one mask.
type compiled struct {
	index map[string]int // field name → index in Fields
	bits  map[string]uint64
	names [64]string // bit position → field name
	// ops are the operations the rules name; masks is indexed by an
	// operation's index in ops (len(ops): any other), caller agent (0, 1)
	// and agent user state.
	ops            []string
	masks          [][2][numAgentUserStates]uint64
	spanBits       [len(spanFieldNames)]uint64
	callerAgentBit uint64
	renames        map[string]string
	keys           map[string]KeyInfo // what Info returns, for every key it knows
}

var contract = compile(Fields)

// compile checks fields and derives the checker's data. It panics on a
// contract it cannot evaluate exactly; the tests run it.
func compile(fields []Field) *compiled {
	c := &compiled{index: map[string]int{}, bits: map[string]uint64{}, renames: map[string]string{}, keys: map[string]KeyInfo{}}
	for i, f := range fields {
		if _, dup := c.index[f.Name]; dup {
			panic("schema: field " + f.Name + " twice")
		}
		c.index[f.Name] = i
	}
	tested := map[string]bool{}
	for _, f := range fields {
		for _, alt := range f.Required {
			for _, cond := range alt {
				if err := cond.checkable(); err != nil {
					panic(fmt.Sprintf("schema: %s: %v", f.Name, err))
				}
				if _, ok := c.index[cond.Field]; !ok && cond.Field != IngestionSource {
					panic("schema: condition on unknown field " + cond.Field)
				}
				if cond.Field == OperationName {
					for _, op := range cond.Values {
						if op != Any && !slices.Contains(c.ops, op) {
							if CanonicalOperation(op) != op || op == "" {
								panic("schema: operation " + op + " is not canonical")
							}
							c.ops = append(c.ops, op)
						}
					}
				} else {
					tested[cond.Field] = true
				}
			}
		}
	}

	// Every combination of facts the rules can tell apart.
	var all []facts
	for _, op := range append(slices.Clone(c.ops), "") {
		for _, ca := range []bool{false, true} {
			for au := range numAgentUserStates {
				all = append(all, facts{op: op, callerAgent: ca, agentUser: au})
			}
		}
	}
	n := 0
	for _, f := range fields {
		needed := tested[f.Name]
		for _, fc := range all {
			needed = needed || f.Required.holds(fc)
		}
		if !needed {
			continue
		}
		if n == 64 {
			panic("schema: more than 64 fields for Presence")
		}
		if f.DerivedFromLegacy {
			panic("schema: " + f.Name + " is required but its legacy names are not its own")
		}
		c.bits[f.Name] = 1 << n
		c.names[n] = f.Name
		n++
	}
	c.masks = make([][2][numAgentUserStates]uint64, len(c.ops)+1)
	for _, fc := range all {
		i := slices.Index(c.ops, fc.op)
		if i < 0 {
			i = len(c.ops)
		}
		ca := 0
		if fc.callerAgent {
			ca = 1
		}
		for _, f := range fields {
			if f.Required.holds(fc) {
				c.masks[i][ca][fc.agentUser] |= c.bits[f.Name]
			}
		}
	}
	c.callerAgentBit = c.bits[CallerAgentID]
	for i, name := range spanFieldNames {
		fi, ok := c.index[name]
		if !ok || !fields[fi].Span {
			panic("schema: no span field " + name)
		}
		c.spanBits[i] = c.bits[name]
	}

	for i, f := range fields {
		if f.Span {
			continue
		}
		if f.ItselfLegacy {
			continue // known by the field it is a legacy name of
		}
		role := roles[f.Name]
		if f.Name == AgentUserID {
			role = RoleAgentUser
		}
		c.addKey(f.Name, KeyInfo{Bit: c.bits[f.Name], Field: uint8(i + 1), Role: role})
		if f.DerivedFromLegacy {
			continue
		}
		for r, l := range f.Legacy {
			lrole := roles[l]
			if f.Name == AgentUserID {
				lrole = RoleAgentUser
			}
			c.addKey(l, KeyInfo{Bit: c.bits[f.Name], Field: uint8(i + 1), Legacy: uint8(r + 1), Role: lrole})
			c.renames[l] = f.Name
		}
	}
	for _, f := range fields {
		if f.ItselfLegacy && c.keys[f.Name].Legacy == 0 {
			panic("schema: " + f.Name + " is marked itself legacy but no field has it as a legacy name")
		}
	}
	for k := range roles {
		if _, ok := c.keys[k]; !ok {
			panic("schema: role for unknown key " + k)
		}
	}
	return c
}

func (c *compiled) addKey(k string, info KeyInfo) {
	if _, dup := c.keys[k]; dup {
		panic("schema: key " + k + " twice")
	}
	c.keys[k] = info
}

// need is the mask of the fields required of a span of operation op.
func (c *compiled) need(op string, callerAgent bool, au agentUserState) uint64 {
	op = CanonicalOperation(op)
	i := 0
	for i < len(c.ops) && c.ops[i] != op {
		i++
	}
	ca := 0
	if callerAgent {
		ca = 1
	}
	return c.masks[i][ca][au]
}

// Conditions are the facts of a span, besides its operation, that the
// contract's rules test.
type Conditions struct {
	// CallerAgent: microsoft.a365.caller.agent.id (or a legacy name) is set.
	CallerAgent bool
	// AgentUser: microsoft.agent.user.id (or a legacy name) is set and not ZeroGUID.
	AgentUser bool
}

// Required lists the fields the contract requires of a custom agent's span
// of operation op under conditions c, in the order of Fields.
func Required(op string, c Conditions) []string {
	au := agentUserAbsent
	if c.AgentUser {
		au = agentUserSet
	}
	var out []string
	eachField(contract.need(op, c.CallerAgent, au), func(k string) { out = append(out, k) })
	return out
}
