package sink

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type answerWithResults struct {
	PartialSuccess struct {
		RejectedSpans int `json:"rejectedSpans"`
	} `json:"partialSuccess"`
	Results []spanResults `json:"results"`
}

func TestResultsFaultAnswers200WithPerSpanResults(t *testing.T) {
	h := newHarness(t, Config{}, true)
	h.fault(t, `{"times":1,"results":{"status":"not_routed","reason":"TenantNotEligible","destinations":["Defender"]}}`)
	r := h.post(t, globalPath(tenantA, agent1), bodyJSON(opSpan(1, "chat"), opSpan(2, "chat")))
	require.Equal(t, 200, r.status, r.body)
	var a answerWithResults
	require.NoError(t, json.Unmarshal([]byte(r.body), &a))
	require.Len(t, a.Results, 2)
	for _, sr := range a.Results {
		assert.Len(t, sr.SpanID, 16)
		require.Len(t, sr.Destinations, 3)
		for _, d := range sr.Destinations {
			if d.Destination == "Defender" {
				assert.Equal(t, destinationResult{Destination: "Defender", Status: "not_routed", Reason: "TenantNotEligible"}, d)
			} else {
				assert.Equal(t, "sent", d.Status)
				assert.Empty(t, d.Reason)
			}
		}
	}
	assert.Len(t, h.records(t), 2, "a 200 records the spans all the same")
	assert.Equal(t, map[string]int64{"sent": 4, "not_routed": 2}, h.stats(t).Results)

	// The fault was used up: no results in the next answer.
	r = h.post(t, globalPath(tenantA, agent1), bodyJSON(opSpan(3, "chat")))
	assert.Equal(t, okBody, r.body)
}

func TestResultsAlwaysWithConfigResults(t *testing.T) {
	h := newHarness(t, Config{Results: true}, false)
	r := h.post(t, globalPath(tenantA, agent1), bodyJSON(opSpan(1, "chat"), opSpan(2, "embeddings")))
	require.Equal(t, 200, r.status, r.body)
	var a answerWithResults
	require.NoError(t, json.Unmarshal([]byte(r.body), &a))
	assert.Equal(t, 1, a.PartialSuccess.RejectedSpans)
	require.Len(t, a.Results, 2)
	assert.Equal(t, "sent", a.Results[0].Destinations[0].Status)
	assert.Equal(t, "rejected", a.Results[1].Destinations[0].Status, "a span the service rejects is rejected everywhere")
	assert.NotEmpty(t, a.Results[1].Destinations[0].Reason)
}

// TestResultsNameSpansAsRecorded: the span ids of the results are those
// of the records, lower-case hex, whatever case the body used.
func TestResultsNameSpansAsRecorded(t *testing.T) {
	h := newHarness(t, Config{Results: true, KeepRecords: true}, false)
	span := `{"traceId":"4BD8F606688C3F3347D69C1B6539C957","spanId":"0766D68605234692","kind":"CLIENT","attributes":{"gen_ai.operation.name":"chat"}}`
	r := h.post(t, globalPath(tenantA, agent1), bodyJSON(span))
	require.Equal(t, 200, r.status, r.body)
	var a answerWithResults
	require.NoError(t, json.Unmarshal([]byte(r.body), &a))
	require.Len(t, a.Results, 1)
	assert.Equal(t, "0766d68605234692", a.Results[0].SpanID)
	var rec struct {
		SpanID string `json:"spanId"`
	}
	require.NoError(t, json.Unmarshal(h.sink.Records()[0].Span, &rec))
	assert.Equal(t, rec.SpanID, a.Results[0].SpanID)
}
