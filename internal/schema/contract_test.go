package schema

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// summary is what testdata/a365-server-contract.md says about the fields.
type summary struct {
	// abbreviations of operation names: IA → invoke_agent, ...
	ops map[string]string
	// required: field → rule text, in the table's order.
	requiredOrder []string
	required      map[string]string
	// microsoftOnly: field → the platforms that alone require it.
	microsoftOnly map[string][]string
	fields        map[string]summaryField
}

type summaryField struct {
	typ, detail, class string
	legacy             []string
	itselfLegacy       bool
}

var (
	backticked = regexp.MustCompile("`([^`]+)`")
	abbrev     = regexp.MustCompile("([A-Z]{2,3}) = `([a-z_]+)`")
	// "`a`, `b`, `c` (Foundry)" in the paragraph of Microsoft's platforms.
	platformGroup = regexp.MustCompile("((?:`[^`]+`,? *)+)\\(([^)]+)\\)")
)

func readSummary(t *testing.T) summary {
	t.Helper()
	raw, err := os.ReadFile("testdata/a365-server-contract.md")
	require.NoError(t, err)
	s := summary{ops: map[string]string{}, required: map[string]string{}, microsoftOnly: map[string][]string{}, fields: map[string]summaryField{}}
	section := ""
	lines := strings.Split(string(raw), "\n")
	for i, line := range lines {
		if strings.HasPrefix(line, "## ") {
			section = strings.TrimPrefix(line, "## ")
			continue
		}
		if strings.HasPrefix(line, "Abbreviations:") {
			for _, m := range abbrev.FindAllStringSubmatch(line+" "+lines[i+1], -1) {
				s.ops[m[1]] = m[2]
			}
		}
		if strings.HasPrefix(line, "Required only for Microsoft's platforms") {
			para := line
			for j := i + 1; j < len(lines) && lines[j] != ""; j++ {
				para += " " + lines[j]
			}
			for _, m := range platformGroup.FindAllStringSubmatch(para, -1) {
				platforms := strings.Split(m[2], ", ")
				if m[2] == "all three platforms" {
					platforms = []string{"CopilotStudio", "Sydney", "Foundry"}
				}
				for _, name := range backticked.FindAllStringSubmatch(m[1], -1) {
					s.microsoftOnly[name[1]] = platforms
				}
			}
		}
		cells := tableRow(line)
		if cells == nil {
			continue
		}
		names := backticked.FindAllStringSubmatch(cells[0], -1)
		switch section {
		case "Required for a custom agent":
			require.Len(t, cells, 2, line)
			for _, n := range names {
				s.requiredOrder = append(s.requiredOrder, n[1])
				s.required[n[1]] = cells[1]
			}
		case "Fields: type, privacy class, legacy names":
			require.Len(t, cells, 4, line)
			f := summaryField{class: cells[2]}
			typ := strings.ReplaceAll(cells[1], "**", "")
			f.typ, f.detail, _ = strings.Cut(typ, " (")
			f.detail = strings.TrimSuffix(f.detail, ")")
			if f.class == "—" {
				f.class = ""
			}
			for _, l := range backticked.FindAllStringSubmatch(cells[3], -1) {
				f.legacy = append(f.legacy, l[1])
			}
			f.itselfLegacy = cells[3] == "(itself legacy)"
			for _, n := range names {
				s.fields[n[1]] = f
			}
		}
	}
	require.NotEmpty(t, s.ops)
	require.NotEmpty(t, s.required)
	require.NotEmpty(t, s.microsoftOnly)
	require.NotEmpty(t, s.fields)
	return s
}

// tableRow returns the cells of a markdown table row, nil for other lines,
// the header and the separator.
func tableRow(line string) []string {
	if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") || strings.HasPrefix(line, "| field |") {
		return nil
	}
	cells := strings.Split(strings.Trim(line, "|"), "|")
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	return cells
}

// parseRule reads the summary's "required when" text into the normalised
// form of normalise. A trailing "(custom agents are not X)" is returned as
// the platform whose exclusion made the rule hold.
func (s summary) parseRule(t *testing.T, text string) (alts []string, excluded string) {
	t.Helper()
	if before, note, ok := strings.Cut(text, " ("); ok {
		text = before
		excluded = strings.TrimSuffix(strings.TrimPrefix(note, "custom agents are not "), ")")
	}
	expand := func(list string) []string {
		var out []string
		for _, a := range strings.Split(list, ", ") {
			op, ok := s.ops[a]
			require.True(t, ok, "abbreviation %q", a)
			out = append(out, op)
		}
		return out
	}
	for _, alt := range strings.Split(text, "; or ") {
		var conds []Condition
		for _, c := range strings.Split(alt, " and ") {
			switch {
			case c == "always":
			case c == "caller agent":
				conds = append(conds, callerAgent)
			case c == "agent user":
				conds = append(conds, agentUserPresent, agentUserNotZero)
			case strings.HasPrefix(c, "op in "):
				conds = append(conds, opIn(expand(strings.TrimPrefix(c, "op in "))...))
			case strings.HasPrefix(c, "op = "):
				conds = append(conds, opIn(expand(strings.TrimPrefix(c, "op = "))...))
			case strings.HasPrefix(c, "op not "):
				conds = append(conds, opNotIn(expand(strings.TrimPrefix(c, "op not "))...))
			default:
				require.Failf(t, "unknown condition", "%q in %q", c, text)
			}
		}
		alts = append(alts, normaliseAlt(conds))
	}
	slices.Sort(alts)
	return alts, excluded
}

// normalise writes a rule as it reads for a custom agent: conditions on
// the ingestion source decided (not_in holds, in does not), conditions
// and alternatives sorted. nil: never required; [""]: always.
func normalise(r Rule) []string {
	var alts []string
	for _, alt := range r {
		var kept []Condition
		holds := true
		for _, c := range alt {
			if c.Field == IngestionSource {
				holds = holds && c.Not
				continue
			}
			kept = append(kept, c)
		}
		if holds {
			alts = append(alts, normaliseAlt(kept))
		}
	}
	slices.Sort(alts)
	return slices.Compact(alts)
}

func normaliseAlt(conds []Condition) string {
	var parts []string
	for _, c := range conds {
		op := "in"
		if c.Not {
			op = "not_in"
		}
		values := slices.Sorted(slices.Values(c.Values))
		parts = append(parts, fmt.Sprintf("%s %s [%s]", c.Field, op, strings.Join(values, " ")))
	}
	slices.Sort(parts)
	return strings.Join(slices.Compact(parts), " and ")
}

// TestContractMatchesSummary holds Fields to the summary of the contract,
// row by row: types, classes, legacy names, and the required rules
// compared as they read for a custom agent.
func TestContractMatchesSummary(t *testing.T) {
	s := readSummary(t)
	assert.Equal(t, map[string]string{"IA": "invoke_agent", "ET": "execute_tool", "INF": "inference", "CH": "chat", "OM": "output_messages"}, s.ops)

	var names []string
	for _, f := range Fields {
		names = append(names, f.Name)
	}
	assert.ElementsMatch(t, slices.Collect(maps.Keys(s.fields)), names, "the fields of the summary's table")

	var requiredOrder []string
	for _, f := range Fields {
		t.Run(f.Name, func(t *testing.T) {
			sf, ok := s.fields[f.Name]
			require.True(t, ok)
			assert.Equal(t, sf.typ, f.Type.String(), "type")
			assert.Equal(t, sf.detail, f.Detail, "type detail")
			assert.Equal(t, sf.class, f.Class.String(), "class")
			assert.Equal(t, sf.legacy, f.Legacy, "legacy names, in order")
			assert.Equal(t, sf.itselfLegacy, f.ItselfLegacy)
			assert.Equal(t, !strings.Contains(f.Name, "."), f.Span, "span fields are the ones without a dot")

			got := normalise(f.Required)
			if text, ok := s.required[f.Name]; ok {
				want, excluded := s.parseRule(t, text)
				assert.Equal(t, want, got, "required when %q", text)
				if excluded != "" {
					assert.Contains(t, f.Required, allOf(sourceNotIn(excluded)), "the rule excludes %s", excluded)
				}
				requiredOrder = append(requiredOrder, f.Name)
			} else {
				assert.Empty(t, got, "never required of a custom agent")
			}
			if platforms, ok := s.microsoftOnly[f.Name]; ok {
				assert.Equal(t, Rule{allOf(sourceIn(platforms...))}, f.Required, "required only for %v", platforms)
			} else if _, ok := s.required[f.Name]; !ok {
				assert.Nil(t, f.Required)
			}
		})
	}
	assert.Equal(t, s.requiredOrder, requiredOrder, "Fields list the required ones in the summary's order")
	for name := range s.microsoftOnly {
		assert.Contains(t, names, name)
	}
}

// The legacy names: every one of the contract's is renamed, except
// OpenTelemetry's own attributes that operation.source is derived from.
func TestLegacyNames(t *testing.T) {
	all := 0
	for _, f := range Fields {
		all += len(f.Legacy)
		if f.DerivedFromLegacy {
			assert.Equal(t, "operation.source", f.Name)
			for _, l := range f.Legacy {
				assert.NotContains(t, Renames, l, "%s keeps its meaning", l)
				assert.Equal(t, KeyInfo{}, Info(l))
			}
			continue
		}
		for i, l := range f.Legacy {
			assert.Equal(t, f.Name, Renames[l], l)
			current, ok := Current(l)
			assert.True(t, ok, l)
			assert.Equal(t, f.Name, current, l)
			info := Info(l)
			assert.Equal(t, i+1, int(info.Legacy), "%s: its rank among %s's legacy names", l, f.Name)
			assert.Equal(t, f.Name, info.Name())
			assert.Equal(t, Info(f.Name).Bit, info.Bit, "%s counts as %s", l, f.Name)
		}
	}
	assert.Equal(t, 33, all)
	assert.Len(t, Renames, 29)
	for _, l := range []string{"microsoft.caller.id", "gen_ai.agent.userid", "microsoft.agent.user.upn", "gen_ai.caller.agent.platformid",
		"gen_ai.agent.thought.process", "tenant.id", "gen_ai.event.content", "microsoft.a365.caller.agent.user.upn"} {
		assert.Contains(t, Renames, l)
	}
	for legacy, current := range Renames {
		_, chained := Renames[current]
		assert.False(t, chained, "%s renames to a legacy name", legacy)
	}
	_, ok := Current(TenantID)
	assert.False(t, ok)
	_, ok = Current("gen_ai.agent.description")
	assert.False(t, ok)
}

func TestInfo(t *testing.T) {
	for k, want := range map[string]Role{
		OperationName: RoleOperation, TenantID: RoleTenant, TenantIDLegacy: RoleTenantLegacy, AgentID: RoleAgent,
		AgentPlatformID: RoleAgentPlatform, AgentUserID: RoleAgentUser, "gen_ai.agent.user.id": RoleAgentUser,
		"gen_ai.agent.userid": RoleAgentUser, "gen_ai.agent.platformid": RoleNone,
	} {
		assert.Equal(t, want, Info(k).Role, k)
	}
	desc := Info("gen_ai.agent.description")
	assert.NotZero(t, desc.Field, "in the contract")
	assert.False(t, desc.Relevant(), "no rule needs it")
	assert.True(t, Info(CallerAgentID).Relevant(), "a condition tests it")
	assert.True(t, Info("gen_ai.caller.agent.id").Relevant())
	assert.Equal(t, KeyInfo{}, Info("traceId"), "span fields are not attributes")
	assert.Equal(t, KeyInfo{}, Info("http.method"))
	assert.Equal(t, "gen_ai.tool.call.result", Info("gen_ai.event.content").Name())
}

func TestCompileRefusesWhatItCannotEvaluate(t *testing.T) {
	base := func() []Field { return slices.Clone(Fields) }
	tests := []struct {
		name   string
		mutate func([]Field) []Field
	}{
		{"a condition on another field", func(f []Field) []Field {
			f[0].Required = when(allOf(Condition{Field: "gen_ai.agent.name", Values: []string{Any}}))
			return f
		}},
		{"a caller agent value", func(f []Field) []Field {
			f[0].Required = when(allOf(Condition{Field: CallerAgentID, Values: []string{"x"}}))
			return f
		}},
		{"an operation in another case", func(f []Field) []Field {
			f[0].Required = when(allOf(opIn("Chat")))
			return f
		}},
		{"a field twice", func(f []Field) []Field { return append(f, Field{Name: "user.id"}) }},
		{"a legacy name twice", func(f []Field) []Field { return append(f, Field{Name: "x.y", Legacy: []string{"gen_ai.caller.id"}}) }},
		{"a required field derived from others", func(f []Field) []Field {
			return append(f, Field{Name: "x.y", Legacy: []string{"service.namespace"}, DerivedFromLegacy: true, Required: always})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Panics(t, func() { compile(tt.mutate(base())) })
		})
	}
	assert.NotPanics(t, func() { compile(base()) })
}
