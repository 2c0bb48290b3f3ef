// Command a365loadtest measures otelcol-agent365 end to end: a fixed-rate
// OTLP load of realistic agent spans, the collector's CPU time and memory,
// spans delivered and lost, for the agent365 exporter and for the stock
// otlp_http exporter (encoding: json) on the same load; the highest rate
// without loss; request latency against a slow service; and, with -soak,
// memory and goroutines over a long run. Results go to BENCHMARKS.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/agent365-otel/agent365exporter/testbed/internal/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "a365loadtest:", err)
		os.Exit(1)
	}
}

type options struct {
	bin, out     string
	rate         float64
	duration     time.Duration
	rates        string
	stepDuration time.Duration
	latencyRate  float64
	soak         time.Duration
	soakRate     float64
}

func run(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("a365loadtest", flag.ContinueOnError)
	fs.SetOutput(w)
	var o options
	fs.StringVar(&o.bin, "bin", "bin", "directory of otelcol-agent365 and a365sink")
	fs.StringVar(&o.out, "out", "BENCHMARKS.md", "file whose loadtest (or soak) section is rewritten; empty: print only")
	fs.Float64Var(&o.rate, "rate", 10000, "spans per second of the comparison")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "length of each comparison run")
	fs.StringVar(&o.rates, "rates", "5000,10000,20000,40000,80000", "rates tried, in order, for the highest rate without loss")
	fs.DurationVar(&o.stepDuration, "step", 15*time.Second, "length of each of those runs")
	fs.Float64Var(&o.latencyRate, "latency-rate", 2000, "spans per second of the latency run (the sink answers in 50 ms)")
	fs.DurationVar(&o.soak, "soak", 0, "run only the soak test, this long (e.g. 10m)")
	fs.Float64Var(&o.soakRate, "soak-rate", 5000, "spans per second of the soak test")
	if err := fs.Parse(args); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "a365loadtest-")
	if err != nil {
		return err
	}
	r := &loadtest.Runner{BinDir: o.bin, WorkDir: work, Log: w}
	fmt.Fprintf(w, "a365loadtest: logs and configs in %s\n", work)
	if o.soak > 0 {
		section, err := soak(ctx, r, o, w)
		if err != nil {
			return err
		}
		return writeSection(o.out, "soak", section, w)
	}
	section, err := benchmark(ctx, r, o, w)
	if err != nil {
		return err
	}
	return writeSection(o.out, "loadtest", section, w)
}

func benchmark(ctx context.Context, r *loadtest.Runner, o options, w io.Writer) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "## End-to-end load\n\n%s\n\n", machine())
	fmt.Fprintf(&b, "Produced by `make loadtest` (`go run ./cmd/a365loadtest`). The otelcol-agent365 binary receives OTLP/HTTP "+
		"protobuf at a fixed rate (realistic agent spans: three agents, about 20 attributes and 1 KB of messages per span), "+
		"runs one exporter, which batches in its sending_queue (`flush_timeout: 200ms`, `min_size: 1024`, the same for every exporter; no batch processor), and sends to a365sink answering 200 "+
		"(`-discard`: it counts spans without keeping them). CPU time and peak RSS are the collector process's own "+
		"(`/proc/<pid>/stat`, `VmHWM`), from the start of the load until every accepted span has arrived.\n\n")

	fmt.Fprintf(&b, "### Cost per span, same load (%.0f spans/s for %s)\n\n", o.rate, o.duration)
	b.WriteString("| exporter | spans offered | accepted by the collector | delivered | lost | CPU s per million spans | peak RSS |\n|---|---:|---:|---:|---:|---:|---:|\n")
	results := map[loadtest.Exporter]loadtest.Outcome{}
	for _, e := range []loadtest.Exporter{loadtest.Agent365, loadtest.OTLPHTTPJSON, loadtest.OTLPHTTPJSONGzip} {
		fmt.Fprintf(w, "a365loadtest: %s at %.0f spans/s for %s\n", e, o.rate, o.duration)
		out, err := r.Run(ctx, loadtest.Scenario{Exporter: e, Rate: o.rate, Duration: o.duration})
		if err != nil {
			return "", fmt.Errorf("%s: %w", e, err)
		}
		results[e] = out
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %.2f | %s |\n", label(e), out.Load.Offered, out.Load.Accepted, out.Delivered, out.Lost, out.CPUPerMillion(), mib(out.PeakRSS))
		fmt.Fprintf(w, "a365loadtest:   delivered %d of %d, %.2f CPU s per million spans, peak RSS %s\n", out.Delivered, out.Load.Offered, out.CPUPerMillion(), mib(out.PeakRSS))
	}
	a, plain, gz := results[loadtest.Agent365], results[loadtest.OTLPHTTPJSON], results[loadtest.OTLPHTTPJSONGzip]
	fmt.Fprintf(&b, "\nRatio a/b of CPU per span, agent365 to otlp_http `encoding: json`: **%.2f** without compression (target: at most 0.8), %.2f against otlp_http's default gzip.\n\n",
		a.CPUPerMillion()/plain.CPUPerMillion(), a.CPUPerMillion()/gz.CPUPerMillion())

	fmt.Fprintf(&b, "### Highest sustained rate without loss (agent365, %s per step)\n\n", o.stepDuration)
	b.WriteString("| rate (spans/s) | offered | accepted by the collector | delivered | lost | CPU s per million spans |\n|---:|---:|---:|---:|---:|---:|\n")
	best := 0.0
	for _, f := range strings.Split(o.rates, ",") {
		var rate float64
		if _, err := fmt.Sscanf(strings.TrimSpace(f), "%g", &rate); err != nil || rate <= 0 {
			return "", fmt.Errorf("-rates: %q is not a rate", f)
		}
		fmt.Fprintf(w, "a365loadtest: agent365 at %.0f spans/s for %s\n", rate, o.stepDuration)
		out, err := r.Run(ctx, loadtest.Scenario{Exporter: loadtest.Agent365, Rate: rate, Duration: o.stepDuration})
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "| %.0f | %d | %d | %d | %d | %.2f |\n", rate, out.Load.Offered, out.Load.Accepted, out.Delivered, out.Lost, out.CPUPerMillion())
		if out.Lost > 0 {
			break
		}
		best = rate
	}
	fmt.Fprintf(&b, "\nHighest rate tried with zero loss: **%.0f spans/s** (rates are tried in order until one loses spans; "+
		"the load generator, the sink and the collector share the machine's cores). Spans offered but not accepted were "+
		"refused at intake (the collector pushing back, or the generator unable to send on schedule); spans accepted but "+
		"not delivered would be losses inside the collector.\n\n", best)

	fmt.Fprintf(&b, "### Request latency against a service answering in 50 ms (agent365, %.0f spans/s)\n\n", o.latencyRate)
	fmt.Fprintf(w, "a365loadtest: latency at %.0f spans/s, sink latency 50ms\n", o.latencyRate)
	lat, err := r.Run(ctx, loadtest.Scenario{Exporter: loadtest.Agent365, Rate: o.latencyRate, Duration: 20 * time.Second, SinkLatency: 50 * time.Millisecond})
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "From the exporter's `otelcol_exporter_agent365_request_duration` histogram (interpolated within buckets): "+
		"**p50 %.1f ms, p99 %.1f ms**; %d of %d spans delivered.\n", lat.P50*1000, lat.P99*1000, lat.Delivered, lat.Load.Offered)
	return b.String(), nil
}

func soak(ctx context.Context, r *loadtest.Runner, o options, w io.Writer) (string, error) {
	var samples []loadtest.Sample
	fmt.Fprintf(w, "a365loadtest: soak, agent365 at %.0f spans/s for %s\n", o.soakRate, o.soak)
	out, err := r.Run(ctx, loadtest.Scenario{
		Exporter: loadtest.Agent365, Rate: o.soakRate, Duration: o.soak, SampleEvery: 10 * time.Second,
		Sample: func(s loadtest.Sample) {
			samples = append(samples, s)
			fmt.Fprintf(w, "a365loadtest:   %s heap %s RSS %s goroutines %d delivered %d\n", s.At.Round(time.Second), mib(int64(s.HeapAlloc)), mib(s.RSS), s.Goroutines, s.Delivered)
		},
	})
	if err != nil {
		return "", err
	}
	if len(samples) < 6 {
		return "", fmt.Errorf("only %d samples; run the soak for at least a minute", len(samples))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## Soak\n\n%s\n\nProduced by `make soak` (`go run ./cmd/a365loadtest -soak %s -soak-rate %.0f`): the same pipeline "+
		"as above with the agent365 exporter, %.0f spans/s for %s, read every 10 s: the Go heap in use "+
		"(`otelcol_process_runtime_heap_alloc_bytes`), the process RSS and the goroutine count (pprof extension).\n\n",
		machine(), o.soak, o.soakRate, o.soakRate, o.soak)
	b.WriteString("| time | heap in use | RSS | goroutines | spans delivered |\n|---:|---:|---:|---:|---:|\n")
	step := max(1, len(samples)/10)
	for i := 0; i < len(samples); i += step {
		s := samples[i]
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d |\n", s.At.Round(time.Second), mib(int64(s.HeapAlloc)), mib(s.RSS), s.Goroutines, s.Delivered)
	}
	// Flat or growing: medians of the first and last thirds (a garbage
	// collector's sawtooth and requests in flight make single readings
	// noisy), and the least-squares slope over the second half.
	third := len(samples) / 3
	first, last := samples[:third], samples[len(samples)-third:]
	heap := func(s loadtest.Sample) float64 { return s.HeapAlloc }
	gor := func(s loadtest.Sample) float64 { return float64(s.Goroutines) }
	maxG := 0
	for _, s := range samples {
		maxG = max(maxG, s.Goroutines)
	}
	fmt.Fprintf(&b, "\nHeap in use: median **%s** in the first third of the run, **%s** in the last third "+
		"(slope over the second half %+.2f MiB per minute). Goroutines: median **%.0f**, then **%.0f** "+
		"(peaks up to %d while requests are in flight). Delivered %d of %d spans offered, lost %d; "+
		"peak RSS %s, %.2f CPU s per million spans.\n",
		mib(int64(median(first, heap))), mib(int64(median(last, heap))), slope(samples[len(samples)/2:], heap)/(1<<20),
		median(first, gor), median(last, gor), maxG, out.Delivered, out.Load.Offered, out.Lost, mib(out.PeakRSS), out.CPUPerMillion())
	return b.String(), nil
}

// median is the median of f over samples.
func median(samples []loadtest.Sample, f func(loadtest.Sample) float64) float64 {
	v := make([]float64, len(samples))
	for i, s := range samples {
		v[i] = f(s)
	}
	slices.Sort(v)
	if len(v) == 0 {
		return 0
	}
	return v[len(v)/2]
}

// slope is the least-squares slope of f over time, per minute.
func slope(samples []loadtest.Sample, f func(loadtest.Sample) float64) float64 {
	n := float64(len(samples))
	var sx, sy, sxx, sxy float64
	for _, s := range samples {
		x, y := s.At.Minutes(), f(s)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

func label(e loadtest.Exporter) string {
	switch e {
	case loadtest.OTLPHTTPJSON:
		return "(b) otlp_http, `encoding: json`, `compression: none`"
	case loadtest.OTLPHTTPJSONGzip:
		return "otlp_http, `encoding: json`, default gzip"
	}
	return "(a) agent365"
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func machine() string {
	model := "unknown CPU"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("Measured %s on %s, %d cores, %s %s/%s.", time.Now().UTC().Format("2006-01-02"), model, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// writeSection replaces the text between <!-- name:begin --> and
// <!-- name:end --> in path (appending the markers when missing).
func writeSection(path, name, section string, w io.Writer) error {
	if path == "" {
		fmt.Fprintln(w, section)
		return nil
	}
	begin, end := "<!-- "+name+":begin -->", "<!-- "+name+":end -->"
	raw, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	text := string(raw)
	block := begin + "\n" + section + end
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i >= 0 && j > i {
		text = text[:i] + block + text[j+len(end):]
	} else {
		text = strings.TrimRight(text, "\n") + "\n\n" + block + "\n"
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return err
	}
	abs, _ := filepath.Abs(path)
	fmt.Fprintf(w, "a365loadtest: wrote the %s section of %s\n", name, abs)
	return nil
}
