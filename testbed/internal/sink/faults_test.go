package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFaultStatusAndTimes(t *testing.T) {
	date := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	tests := []struct {
		name       string
		fault      string
		wantStatus []int // of successive requests; the first faults of them are the fault's
		faults     int
		wantRetry  string
		wantBody   string
		wantHeader map[string]string
	}{
		{name: "503 three times with Retry-After seconds", fault: `{"status":503,"times":3,"retry_after":"2"}`,
			wantStatus: []int{503, 503, 503, 200, 200}, faults: 3, wantRetry: "2"},
		{name: "429 with an HTTP date", fault: `{"status":429,"times":1,"retry_after":"` + date + `"}`,
			wantStatus: []int{429, 200}, faults: 1, wantRetry: date},
		{name: "custom body", fault: `{"status":400,"times":1,"body":"{\"error\":{\"code\":\"InvalidAgent\"}}"}`,
			wantStatus: []int{400, 200}, faults: 1, wantBody: `{"error":{"code":"InvalidAgent"}}`},
		{name: "401 carries WWW-Authenticate", fault: `{"status":401,"times":1}`,
			wantStatus: []int{401, 200}, faults: 1, wantHeader: map[string]string{"WWW-Authenticate": "Bearer"}},
		{name: "403 insufficient scope", fault: `{"status":403,"times":1,"headers":{"WWW-Authenticate":"Bearer error=\"insufficient_scope\""}}`,
			wantStatus: []int{403, 200}, faults: 1, wantHeader: map[string]string{"WWW-Authenticate": `Bearer error="insufficient_scope"`}},
		{name: "unlicensed tenant: 200 with partialSuccess null", fault: `{"status":200,"times":1,"body":"{\"partialSuccess\":null}"}`,
			wantStatus: []int{200, 200}, faults: 1, wantBody: `{"partialSuccess":null}`},
		{name: "until cleared", fault: `{"status":500}`, wantStatus: []int{500, 500, 500, 500}, faults: 4},
		{name: "retry_after as a number", fault: `{"status":429,"times":2,"retry_after":30}`,
			wantStatus: []int{429, 429, 200}, faults: 2, wantRetry: "30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{}, true)
			h.fault(t, tt.fault)
			body := bodyJSON(opSpan(1, "chat"))
			recorded := 0
			for i, want := range tt.wantStatus {
				r := h.post(t, globalPath(tenantA, agent1), body)
				require.Equal(t, want, r.status, "request %d: %s", i, r.body)
				if i >= tt.faults {
					recorded++
					assert.Equal(t, okBody, r.body)
					assert.Empty(t, r.header.Get("Retry-After"))
					continue
				}
				if tt.wantRetry != "" {
					assert.Equal(t, tt.wantRetry, r.header.Get("Retry-After"))
				}
				if tt.wantBody != "" {
					assert.Equal(t, tt.wantBody, r.body)
				} else {
					assert.Contains(t, r.errorMessage(t), "a365sink fault")
				}
				for k, v := range tt.wantHeader {
					assert.Equal(t, v, r.header.Get(k))
				}
			}
			assert.Len(t, h.records(t), recorded, "faulted requests are not recorded")
			assert.Equal(t, int64(recorded), h.report(t).Spans)
			st := h.stats(t)
			assert.Equal(t, int64(tt.faults), st.FaultsApplied)
			assert.Equal(t, int64(recorded), st.SpansAccepted)
		})
	}
}

func TestFaultQueueOrderFiltersAndClear(t *testing.T) {
	h := newHarness(t, Config{}, false)
	body := bodyJSON(opSpan(1, "chat"))
	h.fault(t, `[{"status":503,"times":1},{"status":429,"times":1}]`)
	h.fault(t, `{"status":502,"times":2,"agent":"`+agent2+`"}`)
	h.fault(t, `{"status":504,"tenant":"other"}`)

	r := h.get(t, "/_sink/faults")
	require.Equal(t, http.StatusOK, r.status)
	var listed struct {
		Faults []FaultState `json:"faults"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.body), &listed))
	require.Len(t, listed.Faults, 4)
	assert.Equal(t, 1, listed.Faults[0].Remaining)
	assert.Equal(t, -1, listed.Faults[3].Remaining, "until cleared")

	// In queue order for any request; filters pick their own.
	assert.Equal(t, 503, h.post(t, globalPath(tenantA, agent1), body).status)
	assert.Equal(t, 429, h.post(t, globalPath(tenantA, agent2), body).status, "the unfiltered fault comes first")
	assert.Equal(t, 502, h.post(t, globalPath(tenantA, agent2), body).status)
	assert.Equal(t, 200, h.post(t, globalPath(tenantA, agent1), body).status, "the agent filter does not match")
	assert.Equal(t, 502, h.post(t, globalPath(tenantA, agent2), body).status)
	assert.Equal(t, 200, h.post(t, globalPath(tenantA, agent2), body).status, "times used up")
	assert.Equal(t, 504, h.post(t, globalPath("other", agent1), body).status)
	assert.Equal(t, 504, h.post(t, globalPath("other", agent1), body).status)
	rm := h.do(t, http.MethodPost, "/maven/agent365/agents/"+agent1+"/traces?api-version=1", body,
		map[string]string{"Authorization": "Bearer x", "x-ms-tenant-id": "other"})
	assert.Equal(t, 504, rm.status, "the maven routes' tenant comes from the header")

	faults := h.sink.Faults()
	require.Len(t, faults, 1)
	assert.Equal(t, 3, faults[0].Applied)

	r = h.do(t, http.MethodDelete, "/_sink/faults", nil, nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"cleared":1}`, r.body)
	assert.Equal(t, 200, h.post(t, globalPath("other", agent1), body).status)
	assert.Empty(t, h.sink.Faults())
}

func TestFaultsApplyBeforeOtherChecks(t *testing.T) {
	h := newHarness(t, Config{Token: token}, false)
	h.fault(t, `{"status":503,"times":2}`)
	r := h.do(t, http.MethodPost, "/observability/tenants/t/otlp/agents/a/traces", []byte("junk"), nil)
	assert.Equal(t, 503, r.status, "no auth, no api-version, no JSON: the fault answers")
	r = h.do(t, http.MethodGet, globalPath(tenantA, agent1), nil, nil)
	assert.Equal(t, 405, r.status, "a wrong method is not a trace request")
	r = h.post(t, "/observability/tenants/t/agents/a/traces", nil)
	assert.Equal(t, 404, r.status, "an unknown route is not a trace request")
	assert.Len(t, h.sink.Faults(), 1, "one use left")
}

func TestFaultDelay(t *testing.T) {
	h := newHarness(t, Config{KeepRecords: true}, false)
	h.fault(t, `{"delay":"200ms","times":1}`)
	began := time.Now()
	r := h.post(t, globalPath(tenantA, agent1), bodyJSON(opSpan(1, "chat")))
	assert.GreaterOrEqual(t, time.Since(began), 200*time.Millisecond, "a timer never fires early")
	require.Equal(t, http.StatusOK, r.status)
	assert.Len(t, h.sink.Records(), 1, "a delay alone processes the request normally")

	// A delay before a status.
	h.fault(t, `{"delay":"100ms","status":503,"times":1}`)
	began = time.Now()
	r = h.post(t, globalPath(tenantA, agent1), bodyJSON(opSpan(2, "chat")))
	assert.GreaterOrEqual(t, time.Since(began), 100*time.Millisecond)
	assert.Equal(t, 503, r.status)
	assert.Len(t, h.sink.Records(), 1)
}

func TestFaultDelayClientGivesUp(t *testing.T) {
	h := newHarness(t, Config{}, false)
	h.fault(t, `{"delay":"1h","times":1}`)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.srv.URL+globalPath(tenantA, agent1), bytes.NewReader(bodyJSON(opSpan(1, "chat"))))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer x")
	_, err = h.client.Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Eventually(t, func() bool { return h.sink.Stats().RequestsByStatus["canceled"] == 1 }, 10*time.Second, 10*time.Millisecond)
	assert.Zero(t, h.sink.Report().Spans)
}

func TestCloseEndsDelays(t *testing.T) {
	h := newHarness(t, Config{Latency: time.Hour}, false)
	h.fault(t, `{"delay":"1h","times":1}`)
	done := make(chan response, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+globalPath(tenantA, agent1), bytes.NewReader(bodyJSON(opSpan(1, "chat"))))
		req.Header.Set("Authorization", "Bearer x")
		resp, err := h.client.Do(req)
		if err != nil {
			done <- response{status: -1, body: err.Error()}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- response{status: resp.StatusCode, body: string(b)}
	}()
	require.Eventually(t, func() bool { return len(h.sink.Faults()) == 0 }, 10*time.Second, 5*time.Millisecond, "the request took the fault")
	h.sink.Close()
	select {
	case r := <-done:
		assert.Equal(t, http.StatusOK, r.status, r.body)
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the delay")
	}
}

func TestFaultReset(t *testing.T) {
	h := newHarness(t, Config{KeepRecords: true}, false)
	h.fault(t, `{"reset":true,"times":1,"agent":"`+agent1+`"}`)
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+globalPath(tenantA, agent1), bytes.NewReader(bodyJSON(opSpan(1, "chat"))))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer x")
	resp, err := h.client.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "the connection is closed without an answer")
	var netErr interface{ Timeout() bool }
	assert.False(t, errors.As(err, &netErr) && netErr.Timeout(), "not a timeout: %v", err)

	assert.Equal(t, 200, h.post(t, globalPath(tenantA, agent1), bodyJSON(opSpan(2, "chat"))).status, "the next request is served")
	st := h.stats(t)
	assert.Equal(t, int64(1), st.RequestsByStatus["reset"])
	assert.Equal(t, int64(1), st.FaultsApplied)
	assert.Len(t, h.sink.Records(), 1, "the reset request is not recorded")
}

func TestInvalidFaults(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"empty", ``, "empty"},
		{"nothing to do", `{"times":1}`, "needs a status, a delay, reset or results"},
		{"status out of range", `{"status":99}`, "200 to 599"},
		{"status too high", `{"status":600}`, "200 to 599"},
		{"reset and status", `{"reset":true,"status":503}`, "exclude"},
		{"negative times", `{"status":503,"times":-1}`, "times"},
		{"delay as a number", `{"delay":200}`, "duration"},
		{"bad delay", `{"delay":"soon"}`, "invalid duration"},
		{"negative delay", `{"delay":"-1s"}`, "negative"},
		{"retry_after without status", `{"delay":"1s","retry_after":"2"}`, "need a status"},
		{"bad retry_after", `{"status":503,"retry_after":"tomorrow"}`, "neither seconds nor an HTTP date"},
		{"negative retry_after", `{"status":503,"retry_after":"-3"}`, "negative"},
		{"unknown field", `{"status":503,"tims":3}`, "unknown field"},
		{"unknown field in an array", `[{"status":503,"tims":3}]`, "unknown field"},
		{"fractional retry_after", `{"status":503,"retry_after":1.5}`, "retry_after"},
		{"negative numeric retry_after", `{"status":503,"retry_after":-1}`, "negative"},
		{"not JSON", `status=503`, "invalid"},
		{"one bad fault in an array", `[{"status":503},{"status":1}]`, "200 to 599"},
		{"results with a status", `{"status":503,"results":{"status":"rejected"}}`, "exclude status"},
		{"results status unknown", `{"results":{"status":"lost"}}`, "use \"rejected\" or \"not_routed\""},
		{"results destination unknown", `{"results":{"status":"rejected","destinations":["Teams"]}}`, "not one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{}, false)
			r := h.do(t, http.MethodPost, "/_sink/faults", []byte(tt.body), nil)
			require.Equal(t, http.StatusBadRequest, r.status, r.body)
			assert.Contains(t, r.errorMessage(t), tt.want)
			assert.Empty(t, h.sink.Faults(), "nothing queued")
		})
	}
}

func TestAddFaultAPI(t *testing.T) {
	s := New(Config{})
	require.Error(t, s.AddFault(Fault{}))
	require.NoError(t, s.AddFault(Fault{Status: 503, Times: 2, RetryAfter: "1"}))
	require.NoError(t, s.AddFault(Fault{Delay: Duration(time.Second)}))
	f := s.Faults()
	require.Len(t, f, 2)
	assert.Equal(t, 2, f[0].Remaining)
	b, err := json.Marshal(f[1])
	require.NoError(t, err)
	assert.JSONEq(t, `{"delay":"1s","applied":0,"remaining":-1}`, string(b))
	assert.Equal(t, 2, s.ClearFaults())
}

func TestLatency(t *testing.T) {
	h := newHarness(t, Config{Latency: 150 * time.Millisecond}, false)
	for _, path := range []string{globalPath(tenantA, agent1), "/nowhere"} {
		began := time.Now()
		r := h.post(t, path, bodyJSON(opSpan(1, "chat")))
		assert.GreaterOrEqual(t, time.Since(began), 150*time.Millisecond, "every answer waits: %s", path)
		assert.NotZero(t, r.status)
	}
	// The control API does not wait; nothing to measure, but it answers.
	assert.Equal(t, http.StatusOK, h.get(t, "/_sink/healthz").status)
}
