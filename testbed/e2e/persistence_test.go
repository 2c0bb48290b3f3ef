package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agent365-otel/agent365exporter/internal/sample"
)

// TestPersistentQueueSurvivesCrash: the service is down, the collector
// accepts spans into its file_storage queue and is killed with SIGKILL;
// restarted with the service up, it delivers every span, once.
func TestPersistentQueueSurvivesCrash(t *testing.T) {
	s := newStack(t, map[string]string{"STORAGE_DIR": t.TempDir()})
	config := filepath.Join(root, "testbed", "e2e", "testdata", "persistent.yaml")
	s.startCollector(t, config)

	start := time.Unix(1732465014, 0)
	var sent []string
	for i := range 5 {
		td := sample.Traces(sample.DefaultAgents, 6, start.Add(time.Duration(i)*time.Minute), sample.Options{})
		for id := range expected(t, td) {
			sent = append(sent, id)
		}
		sendGRPC(t, s.grpcPort, td)
	}
	require.Len(t, sent, 120)

	// The exporter is retrying against the missing service.
	eventually(t, 30*time.Second, func() bool {
		return strings.Contains(s.collector.out.String(), "connection refused")
	}, "the collector never tried to send:\n%s", s.collector.out.String())
	s.collector.kill9(t)

	s.startSink(t)
	s.startCollector(t, config)

	var got []received
	eventually(t, 60*time.Second, func() bool {
		got = readReceived(t, s.outFile)
		return len(got) >= len(sent)
	}, "after the restart the sink received %d of %d spans", len(got), len(sent))
	time.Sleep(500 * time.Millisecond)
	got = readReceived(t, s.outFile)
	ids := make([]string, 0, len(got))
	for _, r := range got {
		ids = append(ids, r.Span.SpanID)
	}
	require.ElementsMatch(t, sent, ids, "every span delivered, none twice")
}
