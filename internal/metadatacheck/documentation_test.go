package metadatacheck

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckDocumentation(t *testing.T) {
	md := Load(t, "testdata/metadata.yaml")
	raw, err := os.ReadFile("testdata/documentation.md")
	require.NoError(t, err)
	doc := string(raw)

	tests := []struct {
		name string
		doc  string
		// failure is part of the first failure; empty when the check passes.
		failure string
	}{
		{name: "as mdatagen writes it", doc: doc},
		{
			name:    "another type",
			doc:     strings.Replace(doc, "# sample\n", "# other\n", 1),
			failure: "the type sample",
		},
		{
			name:    "a unit changed",
			doc:     strings.Replace(doc, "| s | Histogram |", "| ms | Histogram |", 1),
			failure: "documentation of sample_request_duration",
		},
		{
			name:    "an enum value missing",
			doc:     strings.Replace(doc, "``traces``, ``unknown``", "``traces``", 1),
			failure: "documentation of sample_requests",
		},
		{
			name:    "an attribute's name on the data points not used",
			doc:     strings.Replace(doc, "| http.response.status_code |", "| status_code |", 1),
			failure: "documentation of sample_requests",
		},
		{
			name:    "a metric undocumented",
			doc:     doc[:strings.Index(doc, "### otelcol_sample_requests\n")],
			failure: "documentation of sample_requests",
		},
		{
			name:    "a metric metadata.yaml does not list",
			doc:     doc + "\n### otelcol_sample_bogus\n\nNot a metric.\n",
			failure: "documents otelcol_sample_bogus",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "documentation.md")
			require.NoError(t, os.WriteFile(path, []byte(tt.doc), 0o600))
			failures := failuresOf(t, func(tb testing.TB) { CheckDocumentation(tb, md, path) })
			if tt.failure == "" {
				assert.Empty(t, failures)
				return
			}
			require.NotEmpty(t, failures)
			assert.Contains(t, failures[0], tt.failure)
		})
	}
}

func TestDocSection(t *testing.T) {
	doc := "# title\n\n### a\n\ntext a\n\n#### Attributes\n\nrows\n\n### b\n\ntext b\n\n\n"
	tests := []struct {
		heading, want string
	}{
		{"### a\n", "### a\n\ntext a\n\n#### Attributes\n\nrows\n"},
		{"### b\n", "### b\n\ntext b\n"},
		{"### c\n", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, docSection(doc, tt.heading), "section %q", tt.heading)
	}
}

// failuresOf runs check with a testing.TB that collects the failures it
// reports instead of failing t, and returns them.
func failuresOf(t *testing.T, check func(testing.TB)) []string {
	tb := &collectingTB{TB: t}
	done := make(chan struct{})
	// FailNow ends the goroutine it is called on, as testing's does.
	go func() {
		defer close(done)
		check(tb)
	}()
	<-done
	return tb.failures
}

type collectingTB struct {
	testing.TB
	failures []string
}

func (*collectingTB) Helper() {}

func (c *collectingTB) Errorf(format string, args ...any) {
	c.failures = append(c.failures, fmt.Sprintf(format, args...))
}

func (*collectingTB) FailNow() { runtime.Goexit() }
