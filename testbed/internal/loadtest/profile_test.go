package loadtest

import (
	"bytes"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// burn keeps a core busy for cpu of this process's CPU time (not wall-clock
// time, so that a busy machine only makes it take longer).
func burn(t *testing.T, cpu time.Duration) int {
	used := func() time.Duration {
		var ru syscall.Rusage
		require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	end := used() + cpu
	x := 0
	for used() < end {
		for i := range 100000 {
			x += i * i
		}
	}
	return x
}

// TestParseCPUProfile reads a real profile of this process, as the pprof
// extension serves it (runtime/pprof, gzipped).
func TestParseCPUProfile(t *testing.T) {
	var stacks []Stack
	// Samples come every 10 ms of CPU time; a few rounds at most, in case
	// the first one caught none.
	for range 5 {
		var buf bytes.Buffer
		require.NoError(t, pprof.StartCPUProfile(&buf))
		burn(t, 300*time.Millisecond)
		pprof.StopCPUProfile()
		var err error
		stacks, err = ParseCPUProfile(buf.Bytes())
		require.NoError(t, err)
		if slices.ContainsFunc(stacks, burnedHere) {
			break
		}
	}
	require.True(t, slices.ContainsFunc(stacks, burnedHere), "a sample in burn: %v", stacks)
	for _, s := range stacks {
		assert.Positive(t, s.CPU)
		assert.NotEmpty(t, s.Funcs)
	}
	i := slices.IndexFunc(stacks, burnedHere)
	funcs := stacks[i].Funcs
	// Leaf first: burn (or what it calls) before the test that called it.
	assert.Less(t, slices.IndexFunc(funcs, isBurn), slices.IndexFunc(funcs, func(f string) bool { return strings.HasSuffix(f, ".TestParseCPUProfile") }))
}

func isBurn(f string) bool { return strings.HasSuffix(f, "loadtest.burn") }

func burnedHere(s Stack) bool { return slices.ContainsFunc(s.Funcs, isBurn) }

func TestParseCPUProfileRefuses(t *testing.T) {
	_, err := ParseCPUProfile([]byte{0x1f, 0x8b, 1, 2})
	assert.Error(t, err, "broken gzip")
	_, err = ParseCPUProfile([]byte{0x0a, 0xff})
	assert.Error(t, err, "broken protobuf")
	// A profile whose values are not "cpu" (a heap profile's).
	heap := []byte{0x0a, 0x04, 0x08, 0x01, 0x10, 0x02, 0x32, 0x00, 0x32, 0x07, 's', 'p', 'a', 'c', 'e', '!', '!', 0x32, 0x05, 'b', 'y', 't', 'e', 's'}
	_, err = ParseCPUProfile(heap)
	assert.ErrorContains(t, err, "not a CPU profile")
}

func TestBreak(t *testing.T) {
	ms := int64(time.Millisecond)
	stacks := []Stack{
		// GC assist while the encoder allocates: GC.
		{Funcs: []string{"runtime.memclrNoHeapPointers", "runtime.gcAssistAlloc", "runtime.mallocgc", "github.com/agent365-otel/agent365exporter/internal/payload.(*A365).AppendSpan", "github.com/agent365-otel/agent365exporter.(*agent365Exporter).encode"}, CPU: 1 * ms},
		{Funcs: []string{"runtime.scanObject", "runtime.gcDrain", "runtime.gcBgMarkWorker"}, CPU: 2 * ms},
		// The encoder, under the queue's consumer: the exporter, not the queue.
		{Funcs: []string{"github.com/agent365-otel/agent365exporter/internal/payload.AppendString", "github.com/agent365-otel/agent365exporter.(*agent365Exporter).encode", "github.com/agent365-otel/agent365exporter.(*agent365Exporter).pushTraces", "go.opentelemetry.io/collector/exporter/exporterhelper/internal/queuebatch.(*partitionBatcher).flush.func1"}, CPU: 4 * ms},
		// Admission, under the receiver's handler.
		{Funcs: []string{"github.com/agent365-otel/agent365exporter.scanIDs", "github.com/agent365-otel/agent365exporter.(*agent365Exporter).admit", "github.com/agent365-otel/agent365exporter.(*admittingExporter).ConsumeTraces", "go.opentelemetry.io/collector/receiver/otlpreceiver.handleTraces"}, CPU: 8 * ms},
		// Decoding the queue's stored request is the queue's, decoding the
		// received one the receiver's.
		{Funcs: []string{"go.opentelemetry.io/collector/pdata/internal.(*Span).UnmarshalProto", "go.opentelemetry.io/collector/exporter/exporterhelper/internal/queuebatch.tracesEncoding.Unmarshal", "go.opentelemetry.io/collector/exporter/exporterhelper/internal/queue.(*persistentQueue[...]).Read"}, CPU: 16 * ms},
		{Funcs: []string{"go.opentelemetry.io/collector/pdata/internal.(*Span).UnmarshalProto", "go.opentelemetry.io/collector/receiver/otlpreceiver.handleTraces", "net/http.(*conn).serve"}, CPU: 32 * ms},
		{Funcs: []string{"go.etcd.io/bbolt.(*Tx).Commit", "github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage.(*fileStorageClient).Batch"}, CPU: 64 * ms},
		{Funcs: []string{"encoding/json.Marshal", "main.main"}, CPU: 128 * ms},
	}
	b := Break(stacks, Parts)
	assert.Equal(t, 255*time.Millisecond, b.Total)
	want := map[string]time.Duration{
		"GC (marking, sweeping, assists)":                                   3 * time.Millisecond,
		"agent365: encoding (payload, truncation, grouping)":                4 * time.Millisecond,
		"agent365: admission (identity, legacy names, required attributes)": 8 * time.Millisecond,
		"queue: persistent storage (encoding, file)":                        80 * time.Millisecond,
		"receiver: decoding":                                                32 * time.Millisecond,
		OtherPart:                                                           128 * time.Millisecond,
	}
	assert.Equal(t, want, b.Parts)
	assert.InDelta(t, 128.0/255, b.Share(OtherPart), 1e-9)
	assert.Zero(t, Breakdown{}.Share(OtherPart))
}

func TestParseMachineCPU(t *testing.T) {
	busy, total, err := parseMachineCPU("cpu  100 20 30 400 50 6 4 10 7 0\ncpu0 1 2 3 4 5 6 7 8 9 0\n")
	require.NoError(t, err)
	assert.InDelta(t, 1.70, busy, 1e-9, "user nice system irq softirq steal")
	assert.InDelta(t, 6.20, total, 1e-9, "guest time is in user already")
	_, _, err = parseMachineCPU("intr 1 2 3\n")
	assert.Error(t, err)
}
