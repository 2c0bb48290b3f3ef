package agent365receiver

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap/zapcore"
)

const (
	urlTenant = "e3064512-cc6d-4703-be71-a2ecaecaa98a"
	urlAgent  = "aaaaaaaa-0000-4000-8000-000000000001"
)

// TestApplyIdentity: a span is taken when what it names (on itself, else
// on its resource) is the URL's identity, refused when it names another,
// and given the URL's when it names none.
func TestApplyIdentity(t *testing.T) {
	type attrs = map[string]any
	tests := []struct {
		name          string
		resource      attrs
		span          attrs
		routeTenant   string // "-" for a legacy route without x-ms-tenant-id
		routeAgent    string // default urlAgent
		wantRejected  string // reason, or "" when taken
		wantSpanAttrs attrs  // identity attributes of the span as passed on
	}{
		{name: "both on the span",
			span:          attrs{keyTenant: urlTenant, keyAgent: urlAgent},
			wantSpanAttrs: attrs{keyTenant: urlTenant, keyAgent: urlAgent}},
		{name: "tenant in another letter case",
			span:          attrs{keyTenant: "E3064512-CC6D-4703-BE71-A2ECAECAA98A", keyAgent: urlAgent},
			wantSpanAttrs: attrs{keyTenant: "E3064512-CC6D-4703-BE71-A2ECAECAA98A", keyAgent: urlAgent}},
		{name: "agent in another letter case, padded",
			span:          attrs{keyTenant: urlTenant, keyAgent: " AAAAAAAA-0000-4000-8000-000000000001 "},
			wantSpanAttrs: attrs{keyTenant: urlTenant, keyAgent: " AAAAAAAA-0000-4000-8000-000000000001 "}},
		{name: "another tenant",
			span:         attrs{keyTenant: "11111111-2222-3333-4444-555555555555", keyAgent: urlAgent},
			wantRejected: reasonTenantMismatch},
		{name: "another agent",
			span:         attrs{keyTenant: urlTenant, keyAgent: "aaaaaaaa-0000-4000-8000-000000000009"},
			wantRejected: reasonAgentMismatch},
		{name: "legacy tenant key, matching",
			span:          attrs{keyTenantLegacy: urlTenant, keyAgent: urlAgent},
			wantSpanAttrs: attrs{keyTenantLegacy: urlTenant, keyAgent: urlAgent}},
		{name: "legacy tenant key, another tenant",
			span:         attrs{keyTenantLegacy: "contoso.onmicrosoft.com", keyAgent: urlAgent},
			wantRejected: reasonTenantMismatch},
		{name: "current key wins over legacy",
			span:         attrs{keyTenant: "11111111-2222-3333-4444-555555555555", keyTenantLegacy: urlTenant, keyAgent: urlAgent},
			wantRejected: reasonTenantMismatch},
		{name: "blank current key falls back to legacy",
			span:          attrs{keyTenant: "  ", keyTenantLegacy: urlTenant, keyAgent: urlAgent},
			wantSpanAttrs: attrs{keyTenant: "  ", keyTenantLegacy: urlTenant, keyAgent: urlAgent}},
		{name: "platform id in place of the agent id",
			span:          attrs{keyTenant: urlTenant, keyAgentPlatform: urlAgent},
			wantSpanAttrs: attrs{keyTenant: urlTenant, keyAgentPlatform: urlAgent}},
		{name: "platform id of another agent",
			span:         attrs{keyTenant: urlTenant, keyAgentPlatform: "other-agent"},
			wantRejected: reasonAgentMismatch},
		{name: "none: the URL's identity is set",
			span:          attrs{},
			wantSpanAttrs: attrs{keyTenant: urlTenant, keyAgent: urlAgent}},
		{name: "blank: the URL's identity is set",
			span:          attrs{keyTenant: "", keyAgent: " "},
			wantSpanAttrs: attrs{keyTenant: urlTenant, keyAgent: urlAgent}},
		{name: "from the resource, matching: set on the span",
			resource:      attrs{keyTenant: urlTenant, keyAgent: urlAgent},
			span:          attrs{},
			wantSpanAttrs: attrs{keyTenant: urlTenant, keyAgent: urlAgent}},
		{name: "from the resource, another tenant",
			resource:     attrs{keyTenant: "11111111-2222-3333-4444-555555555555"},
			span:         attrs{keyAgent: urlAgent},
			wantRejected: reasonTenantMismatch},
		{name: "the span's own key wins over the resource's",
			resource:      attrs{keyTenant: "11111111-2222-3333-4444-555555555555", keyAgent: "other-agent"},
			span:          attrs{keyTenant: urlTenant, keyAgent: urlAgent},
			wantSpanAttrs: attrs{keyTenant: urlTenant, keyAgent: urlAgent}},
		{name: "an int id is its decimal string",
			routeAgent:    "42",
			span:          attrs{keyTenant: urlTenant, keyAgent: int64(42)},
			wantSpanAttrs: attrs{keyTenant: urlTenant, keyAgent: int64(42)}},
		{name: "an id of another type names no identity of the URL",
			span:         attrs{keyTenant: true, keyAgent: urlAgent},
			wantRejected: reasonTenantMismatch},
		{name: "legacy route without tenant: any tenant, agent checked",
			routeTenant:   "-",
			span:          attrs{keyTenant: "11111111-2222-3333-4444-555555555555", keyAgent: urlAgent},
			wantSpanAttrs: attrs{keyTenant: "11111111-2222-3333-4444-555555555555", keyAgent: urlAgent}},
		{name: "legacy route without tenant: none set",
			routeTenant:   "-",
			span:          attrs{},
			wantSpanAttrs: attrs{keyAgent: urlAgent}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := ptrace.NewTraces()
			rs := td.ResourceSpans().AppendEmpty()
			require.NoError(t, rs.Resource().Attributes().FromRaw(tt.resource))
			id := identity{tenant: urlTenant, agent: urlAgent}
			if tt.routeTenant == "-" {
				id.tenant = ""
			}
			if tt.routeAgent != "" {
				id.agent = tt.routeAgent
			}
			// The span under test, between two that name the URL's identity
			// themselves, whatever their resource names.
			spans := rs.ScopeSpans().AppendEmpty().Spans()
			own := attrs{keyTenant: urlTenant, keyAgent: id.agent}
			for i, a := range []attrs{own, tt.span, own} {
				s := spans.AppendEmpty()
				s.SetName([]string{"before", "under test", "after"}[i])
				require.NoError(t, s.Attributes().FromRaw(a))
			}
			rej := applyIdentity(td, id)
			if tt.wantRejected != "" {
				assert.Equal(t, 1, rej.total())
				assert.Equal(t, map[string]int{reasonTenantMismatch: 1, reasonAgentMismatch: 0}[tt.wantRejected], rej.tenant)
				assert.Contains(t, rej.first, `span "under test" names`)
				require.Equal(t, 2, td.SpanCount())
				assert.Equal(t, "before", spans.At(0).Name())
				assert.Equal(t, "after", spans.At(1).Name())
				return
			}
			assert.Equal(t, 0, rej.total())
			require.Equal(t, 3, td.SpanCount())
			got := attrs{}
			for k, v := range spans.At(1).Attributes().All() {
				got[k] = v.AsRaw()
			}
			assert.Equal(t, tt.wantSpanAttrs, got)
		})
	}
}

// TestApplyIdentityPrunes: scopes and resources left without spans are
// removed, the others kept in order.
func TestApplyIdentityPrunes(t *testing.T) {
	td := ptrace.NewTraces()
	add := func(rs ptrace.ResourceSpans, names ...string) {
		ss := rs.ScopeSpans().AppendEmpty()
		for _, n := range names {
			s := ss.Spans().AppendEmpty()
			s.SetName(n)
			s.Attributes().PutStr(keyAgent, map[bool]string{true: "other", false: urlAgent}[n[0] == 'x'])
		}
	}
	rs1 := td.ResourceSpans().AppendEmpty()
	add(rs1, "x1", "x2")
	add(rs1, "a", "x3")
	rs2 := td.ResourceSpans().AppendEmpty()
	add(rs2, "x4")
	rs3 := td.ResourceSpans().AppendEmpty()
	rs3.Resource().Attributes().PutStr("service.name", "kept")
	add(rs3, "b")

	rej := applyIdentity(td, identity{tenant: urlTenant, agent: urlAgent})
	assert.Equal(t, 4, rej.agent)
	assert.Equal(t, `span "x1" names agent "other"`, rej.first)
	require.Equal(t, 2, td.ResourceSpans().Len())
	assert.Equal(t, 1, td.ResourceSpans().At(0).ScopeSpans().Len())
	assert.Equal(t, "a", td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Name())
	v, _ := td.ResourceSpans().At(1).Resource().Attributes().Get("service.name")
	assert.Equal(t, "kept", v.Str())
	assert.Equal(t, "b", td.ResourceSpans().At(1).ScopeSpans().At(0).Spans().At(0).Name())
	assert.Equal(t, "4 of 6 spans rejected: they name another tenant or agent than the request's URL (tenant "+urlTenant+", agent "+urlAgent+
		`); first: span "x1" names agent "other"`, rej.message(identity{tenant: urlTenant, agent: urlAgent}, 6))
}

// TestIdentityOverHTTP: the SDK's Contoso body sent to Fabrikam's URL is
// refused span by span; the answer, the metric and the log say so, and
// the spans that fit are passed on.
func TestIdentityOverHTTP(t *testing.T) {
	tr := startReceiver(t, nil)
	contoso := fixture(t, "node-sdk-1.0.0-contoso.json")
	r := tr.post(t, fabrikamPath(), contoso, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	ps := r.partialSuccess(t)
	assert.Equal(t, 4, ps.RejectedSpans)
	assert.Contains(t, ps.ErrorMessage, "4 of 4 spans rejected: they name another tenant or agent than the request's URL (tenant "+fabrikamTenant)
	assert.Contains(t, ps.ErrorMessage, `first: span "chat gpt-4o" names tenant "`+contosoTenant+`"`)
	assert.Empty(t, tr.pipeline.received(), "nothing left to pass on")
	assert.Equal(t, int64(4), tr.sum(t, "otelcol_receiver_agent365_rejected_spans", attribute.String("reason", reasonTenantMismatch)))

	// Right tenant, another agent: the same body with Fabrikam's tenant.
	mixed := bytes.ReplaceAll(contoso, []byte(contosoTenant), []byte(fabrikamTenant))
	r = tr.post(t, fabrikamPath(), mixed, nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, 4, r.partialSuccess(t).RejectedSpans)
	assert.Equal(t, int64(4), tr.sum(t, "otelcol_receiver_agent365_rejected_spans", attribute.String("reason", reasonAgentMismatch)))

	// Both bodies in one request (two resources): half refused.
	both := append(append([]byte(`{"resourceSpans":[`), resourceOf(t, contoso)...), ',')
	both = append(append(both, resourceOf(t, fixture(t, "node-sdk-1.0.0-fabrikam.json"))...), "]}"...)
	r = tr.post(t, contosoPath(), both, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, 3, r.partialSuccess(t).RejectedSpans)
	calls := tr.pipeline.received()
	require.Len(t, calls, 1)
	assert.Equal(t, 4, calls[0].td.SpanCount())
	assert.Equal(t, 1, calls[0].td.ResourceSpans().Len())

	warnings := tr.logs.FilterLevelExact(zapcore.WarnLevel).FilterMessageSnippet("Spans refused").All()
	require.Len(t, warnings, 3)
	assert.Equal(t, int64(3), warnings[2].ContextMap()["rejected_spans"])
}

// resourceOf is the first resourceSpans entry of an SDK body, as raw JSON.
func resourceOf(t *testing.T, body []byte) []byte {
	t.Helper()
	const open = `{"resourceSpans":[`
	require.True(t, bytes.HasPrefix(body, []byte(open)))
	require.True(t, bytes.HasSuffix(body, []byte("]}")))
	return body[len(open) : len(body)-2]
}
