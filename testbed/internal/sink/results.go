package sink // import "github.com/agent365-otel/agent365exporter/testbed/internal/sink"

import (
	"encoding/hex"
	"encoding/json"
	"slices"
)

// Destinations are where the service routes accepted spans; a 200 answer
// may list, per span, each one's result.
var Destinations = []string{"AdminCenter", "Defender", "Purview"}

// Result statuses of a destination.
const (
	resultSent      = "sent"
	resultRejected  = "rejected"
	resultNotRouted = "not_routed"
)

// destinationResult is one destination's result for one span.
type destinationResult struct {
	Destination string `json:"destination"`
	Status      string `json:"status"`
	Reason      string `json:"reason,omitempty"`
}

// spanResults is a span's results, as the answer lists them.
type spanResults struct {
	SpanID       string              `json:"spanId"`
	Destinations []destinationResult `json:"destinations"`
}

// addResults adds to a 200 answer the per-span results: spans the
// service rejects (partialSuccess) are rejected everywhere; the others
// are sent, except to the destinations a results fault names.
func (s *Server) addResults(rep *reply, spans []spanEntry, analyzed []spanResult, f *ResultsFault) {
	list := make([]spanResults, 0, len(spans))
	counts := map[string]int64{}
	for i := range spans {
		id := spans[i].span.SpanID()
		sr := spanResults{SpanID: hex.EncodeToString(id[:])}
		for _, d := range Destinations {
			r := destinationResult{Destination: d, Status: resultSent}
			switch {
			case analyzed[i].rejected != "":
				r.Status, r.Reason = resultRejected, analyzed[i].rejected
			case f != nil && (len(f.Destinations) == 0 || slices.Contains(f.Destinations, d)):
				r.Status, r.Reason = f.Status, f.Reason
				if r.Reason == "" {
					r.Reason = "InjectedFault"
				}
			}
			counts[r.Status]++
			sr.Destinations = append(sr.Destinations, r)
		}
		list = append(list, sr)
	}
	var body map[string]json.RawMessage
	_ = json.Unmarshal(rep.body, &body)
	body["results"], _ = json.Marshal(list)
	rep.body, _ = json.Marshal(body)
	s.mu.Lock()
	for k, n := range counts {
		s.stats.Results[k] += n
	}
	s.mu.Unlock()
}
