// Command a365loadtest measures otelcol-agent365 end to end, running the
// recommended gateway pipeline of deploy/kubernetes/gateway: a fixed-rate
// OTLP load of realistic agent spans; the collector's CPU time and memory,
// spans delivered and lost, for the agent365 exporter and for the stock
// otlp_http exporter (encoding: json) in the same pipeline; where the
// collector's CPU goes (CPU profiles from its pprof extension); the highest
// rate without loss; request latency against a slow service; and, with
// -soak, memory and goroutines over a long run. Results go to BENCHMARKS.md.
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
	bin, out, gateway string
	protocol          loadtest.Protocol
	rate              float64
	duration          time.Duration
	rounds            int
	profile           time.Duration
	rates             string
	stepDuration      time.Duration
	sweeps            int
	latencyRate       float64
	sections          string
	exporters         []loadtest.Exporter
	senders           int
	soak              time.Duration
	soakRate          float64
}

func run(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("a365loadtest", flag.ContinueOnError)
	fs.SetOutput(w)
	var o options
	var protocol string
	fs.StringVar(&o.bin, "bin", "bin", "directory of otelcol-agent365 and a365sink")
	fs.StringVar(&o.out, "out", "BENCHMARKS.md", "file whose loadtest (or soak) section is rewritten; empty: print only")
	fs.StringVar(&o.gateway, "gateway", "../deploy/kubernetes/gateway", "directory of the gateway's collector.yaml and statefulset.yaml, whose pipeline is measured")
	fs.StringVar(&protocol, "protocol", "http", "how the load reaches the collector's OTLP receiver: http (protobuf) or grpc")
	fs.Float64Var(&o.rate, "rate", 10000, "spans per second of the comparison")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "length of each comparison run")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds of the comparison (each runs every exporter once)")
	fs.DurationVar(&o.profile, "profile", 20*time.Second, "length of the CPU profile taken in each comparison run; 0: none")
	fs.StringVar(&o.rates, "rates", "15000,20000,25000,30000,35000,40000,45000,50000", "rates tried, in order, for the highest rate without loss")
	fs.DurationVar(&o.stepDuration, "step", 15*time.Second, "length of each of those runs")
	fs.IntVar(&o.sweeps, "sweeps", 3, "times the rates are tried")
	fs.Float64Var(&o.latencyRate, "latency-rate", 2000, "spans per second of the latency run (the sink answers in 50 ms)")
	fs.IntVar(&o.senders, "senders", 32, "requests the load generator keeps in flight at most, as a gateway has many clients")
	fs.StringVar(&o.sections, "sections", "cost,rate,latency", "parts of the benchmark to run")
	exporters := fs.String("exporters", "agent365,otlphttp_json,otlphttp_json_gzip", "exporters of the comparison (agent365 and otlphttp_json at least)")
	fs.DurationVar(&o.soak, "soak", 0, "run only the soak test, this long (e.g. 10m)")
	fs.Float64Var(&o.soakRate, "soak-rate", 5000, "spans per second of the soak test")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if o.protocol, err = loadtest.ParseProtocol(protocol); err != nil {
		return err
	}
	for _, e := range strings.Split(*exporters, ",") {
		o.exporters = append(o.exporters, loadtest.Exporter(strings.TrimSpace(e)))
	}
	if !slices.Contains(o.exporters, loadtest.Agent365) || !slices.Contains(o.exporters, loadtest.OTLPHTTPJSON) {
		return errors.New("-exporters: the comparison needs agent365 and otlphttp_json")
	}
	if o.rounds < 1 || o.sweeps < 1 {
		return errors.New("-rounds and -sweeps must be at least 1")
	}
	gw, err := loadtest.LoadGateway(o.gateway)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "a365loadtest-")
	if err != nil {
		return err
	}
	r := &loadtest.Runner{BinDir: o.bin, WorkDir: work, Gateway: gw, Log: w}
	fmt.Fprintf(w, "a365loadtest: logs, configs and profiles in %s\n", work)
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
	fmt.Fprintf(&b, "Produced by `make loadtest` (`cd testbed && go run ./cmd/a365loadtest -bin ../bin -out ../BENCHMARKS.md`).\n\n")
	b.WriteString(describePipeline(r.Gateway, o))
	sections := map[string]bool{}
	for _, s := range strings.Split(o.sections, ",") {
		sections[strings.TrimSpace(s)] = true
	}
	if sections["cost"] {
		if err := costSection(ctx, &b, r, o, w); err != nil {
			return "", err
		}
	}
	if sections["rate"] {
		if err := rateSection(ctx, &b, r, o, w); err != nil {
			return "", err
		}
	}
	if sections["latency"] {
		fmt.Fprintf(&b, "### Request latency against a service answering in 50 ms (agent365, %.0f spans/s)\n\n", o.latencyRate)
		fmt.Fprintf(w, "a365loadtest: latency at %.0f spans/s, sink latency 50ms\n", o.latencyRate)
		lat, err := r.Run(ctx, loadtest.Scenario{Exporter: loadtest.Agent365, Protocol: o.protocol, Senders: o.senders, Rate: o.latencyRate, Duration: 20 * time.Second, SinkLatency: 50 * time.Millisecond})
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "From the exporter's `otelcol_exporter_agent365_request_duration` histogram (interpolated within buckets): "+
			"**p50 %.1f ms, p99 %.1f ms**; %d of %d spans delivered.\n", lat.P50*1000, lat.P99*1000, lat.Delivered, lat.Load.Offered)
	}
	return b.String(), nil
}

// describePipeline says what runs: the gateway's pipeline, and what of it
// the load test replaces.
func describePipeline(g loadtest.Gateway, o options) string {
	var b strings.Builder
	queue, _ := g.Agent365["sending_queue"].(map[string]any)
	batch, _ := queue["batch"].(map[string]any)
	storage := "in memory"
	if g.StorageID != "" {
		storage = fmt.Sprintf("persistent (`storage: %s`, a file in the run's directory)", g.StorageID)
	}
	fmt.Fprintf(&b, "The pipeline is the recommended gateway's, read from `%s/collector.yaml` and `statefulset.yaml` at each run: "+
		"the OTLP receiver with its settings (gRPC and HTTP), processors %s, and the agent365 exporter with its sending_queue "+
		"(%s; `sizer: %v`, `queue_size: %v`, `num_consumers: %v`; batching `sizer: %v`, `flush_timeout: %v`, `min_size: %v`, `max_size: %v`) "+
		"and retry settings; the collector runs with %s as the StatefulSet sets it. "+
		"Only what ties it to a cluster is replaced: loopback endpoints, a static token in place of the blueprint credential, "+
		"the sample's two tenants in `allowed_tenants`, the queue's directories. The comparison pipeline is the same with the stock "+
		"`otlp_http` exporter (`encoding: json`) in place of agent365, with the same sending_queue and retry settings, sending to "+
		"a365sink's `/v1/traces`.\n\n",
		filepath.ToSlash(g.Dir), codeList(g.PipelineProcessors), storage, queue["sizer"], queue["queue_size"], queue["num_consumers"],
		batch["sizer"], batch["flush_timeout"], batch["min_size"], batch["max_size"], codeList(g.GoEnv))
	fmt.Fprintf(&b, "The load is realistic agent spans (three agents of two tenants, conversation turns of invoke_agent, chat, "+
		"execute_tool and output_messages spans, about 20 attributes and 1 KB of messages per span), 100 spans a request, "+
		"sent over OTLP/%s at a fixed rate by up to %d senders at once; up to half a second of it waits for a free sender (as an SDK's export queue holds spans), "+
		"and a request that finds that backlog full is counted as lost. a365sink answers 200 and counts spans without keeping them "+
		"(`-discard`). CPU times are from `/proc/<pid>/stat` (the collector, the sink, the generator) and `/proc/stat` (the machine; "+
		"\"others\" is what other processes used meanwhile), peak RSS is the collector's `VmHWM`; all from the start of the load until "+
		"every accepted span has arrived. The machine is shared: figures are medians, with the range over the runs.\n\n", protocolName(o.protocol), o.senders)
	return b.String()
}

func protocolName(p loadtest.Protocol) string {
	if p == loadtest.GRPC {
		return "gRPC"
	}
	return "HTTP (protobuf)"
}

func codeList(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	var parts []string
	for _, n := range names {
		parts = append(parts, "`"+n+"`")
	}
	return strings.Join(parts, ", ")
}

func costSection(ctx context.Context, b *strings.Builder, r *loadtest.Runner, o options, w io.Writer) error {
	exporters := o.exporters
	results := map[loadtest.Exporter][]loadtest.Outcome{}
	// Rounds interleave the exporters, so that a busier minute of the
	// shared machine weighs on each of them alike.
	for round := range o.rounds {
		for _, e := range exporters {
			fmt.Fprintf(w, "a365loadtest: round %d: %s at %.0f spans/s for %s\n", round+1, e, o.rate, o.duration)
			out, err := r.Run(ctx, loadtest.Scenario{Exporter: e, Protocol: o.protocol, Senders: o.senders, Rate: o.rate, Duration: o.duration, Profile: o.profile})
			if err != nil {
				return fmt.Errorf("%s: %w", e, err)
			}
			results[e] = append(results[e], out)
			fmt.Fprintf(w, "a365loadtest:   delivered %d of %d, %.2f CPU s per million spans, peak RSS %s, load %.2f (others %.2f cores)\n",
				out.Delivered, out.Load.Offered, out.CPUPerMillion(), mib(out.PeakRSS), out.LoadAvg, out.Cores(out.OtherCPU))
		}
	}
	fmt.Fprintf(b, "### Cost per span, same load (%.0f spans/s for %s, %d rounds)\n\n", o.rate, o.duration, o.rounds)
	b.WriteString("| exporter | delivered of offered (all rounds) | collector CPU s per million spans | peak RSS | sink, generator, others (cores) | load average |\n|---|---:|---:|---:|---:|---:|\n")
	for _, e := range exporters {
		outs := results[e]
		var offered, delivered int64
		for _, out := range outs {
			offered += out.Load.Offered
			delivered += out.Delivered
		}
		fmt.Fprintf(b, "| %s | %d of %d | %s | %s | %.2f, %.2f, %.2f | %s |\n", label(e), delivered, offered,
			spread(outs, "%.2f", loadtest.Outcome.CPUPerMillion),
			spread(outs, "%.0f MiB", func(o loadtest.Outcome) float64 { return float64(o.PeakRSS) / (1 << 20) }),
			medianOf(outs, func(o loadtest.Outcome) float64 { return o.Cores(o.SinkCPU) }),
			medianOf(outs, func(o loadtest.Outcome) float64 { return o.Cores(o.GeneratorCPU) }),
			medianOf(outs, func(o loadtest.Outcome) float64 { return o.Cores(o.OtherCPU) }),
			spread(outs, "%.2f", func(o loadtest.Outcome) float64 { return o.LoadAvg }))
	}
	ratio := func(base loadtest.Exporter) []float64 {
		var v []float64
		for i := range o.rounds {
			v = append(v, results[loadtest.Agent365][i].CPUPerMillion()/results[base][i].CPUPerMillion())
		}
		return v
	}
	gzip := ""
	if len(results[loadtest.OTLPHTTPJSONGzip]) == o.rounds {
		gzip = fmt.Sprintf(", %s against otlp_http's default gzip", spreadOf(ratio(loadtest.OTLPHTTPJSONGzip), "%.2f"))
	}
	fmt.Fprintf(b, "\nRatio of CPU per span, agent365 to otlp_http `encoding: json` (median of the rounds' ratios, range): "+
		"**%s** without compression (target: at most 0.6)%s. "+
		"Cells with three figures are the median and, in brackets, the lowest and highest run.\n\n",
		spreadOf(ratio(loadtest.OTLPHTTPJSON), "%.2f"), gzip)
	if o.profile > 0 {
		return profileSection(b, results, o)
	}
	return nil
}

func profileSection(b *strings.Builder, results map[loadtest.Exporter][]loadtest.Outcome, o options) error {
	exporters := []loadtest.Exporter{loadtest.Agent365, loadtest.OTLPHTTPJSON}
	breakdowns := map[loadtest.Exporter]loadtest.Breakdown{}
	cpm := map[loadtest.Exporter]float64{}
	for _, e := range exporters {
		var stacks []loadtest.Stack
		for _, out := range results[e] {
			s, err := loadtest.ParseCPUProfile(out.Profile)
			if err != nil {
				return fmt.Errorf("%s: %w", e, err)
			}
			stacks = append(stacks, s...)
		}
		breakdowns[e] = loadtest.Break(stacks, loadtest.Parts)
		cpm[e] = medianOf(results[e], loadtest.Outcome.CPUPerMillion)
	}
	fmt.Fprintf(b, "### Where the collector's CPU goes (%.0f spans/s)\n\n", o.rate)
	fmt.Fprintf(b, "CPU profiles of the collector (pprof extension, `/debug/pprof/profile?seconds=%d`, taken in each comparison run "+
		"after the load has run for 5 s; %d profiles per exporter, summed). Each sample is given to the first part below that a "+
		"function of its stack belongs to (`loadtest.Parts`); the CPU s per million spans of a part is its share times the "+
		"exporter's median above. To read one profile: `go tool pprof -top bin/otelcol-agent365 <run directory>/cpu.pprof`.\n\n",
		int(o.profile.Seconds()), o.rounds)
	b.WriteString("| part | agent365 share | agent365 CPU s per million spans | otlp_http json share | otlp_http json CPU s per million spans |\n|---|---:|---:|---:|---:|\n")
	names := []string{}
	for _, p := range loadtest.Parts {
		names = append(names, p.Name)
	}
	names = append(names, loadtest.OtherPart)
	for _, n := range names {
		a, j := breakdowns[loadtest.Agent365], breakdowns[loadtest.OTLPHTTPJSON]
		if a.Parts[n] == 0 && j.Parts[n] == 0 {
			continue
		}
		fmt.Fprintf(b, "| %s | %.1f %% | %.2f | %.1f %% | %.2f |\n", n, 100*a.Share(n), a.Share(n)*cpm[loadtest.Agent365], 100*j.Share(n), j.Share(n)*cpm[loadtest.OTLPHTTPJSON])
	}
	b.WriteString("\n")
	return nil
}

func rateSection(ctx context.Context, b *strings.Builder, r *loadtest.Runner, o options, w io.Writer) error {
	var rates []float64
	for _, f := range strings.Split(o.rates, ",") {
		var rate float64
		if _, err := fmt.Sscanf(strings.TrimSpace(f), "%g", &rate); err != nil || rate <= 0 {
			return fmt.Errorf("-rates: %q is not a rate", f)
		}
		rates = append(rates, rate)
	}
	fmt.Fprintf(b, "### Highest sustained rate without loss (agent365, %s per step, %d sweeps)\n\n", o.stepDuration, o.sweeps)
	b.WriteString("| sweep | rate (spans/s) | offered | accepted by the collector | delivered | lost | collector CPU s per million spans | collector, sink, generator, others (cores) | receiver answer p50, p99, max (ms) | load average |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var bests []float64
	for sweep := range o.sweeps {
		best := 0.0
		for _, rate := range rates {
			fmt.Fprintf(w, "a365loadtest: sweep %d: agent365 at %.0f spans/s for %s\n", sweep+1, rate, o.stepDuration)
			out, err := r.Run(ctx, loadtest.Scenario{Exporter: loadtest.Agent365, Protocol: o.protocol, Senders: o.senders, Rate: rate, Duration: o.stepDuration})
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "a365loadtest:   delivered %d of %d, %.2f CPU s per million spans, collector %.2f cores, others %.2f, receiver answers %s ms\n",
				out.Delivered, out.Load.Offered, out.CPUPerMillion(), out.Cores(out.CPUSeconds), out.Cores(out.OtherCPU), answerTimes(out.Load))
			fmt.Fprintf(b, "| %d | %.0f | %d | %d | %d | %d | %.2f | %.2f, %.2f, %.2f, %.2f | %s | %.2f |\n", sweep+1, rate, out.Load.Offered, out.Load.Accepted, out.Delivered, out.Lost,
				out.CPUPerMillion(), out.Cores(out.CPUSeconds), out.Cores(out.SinkCPU), out.Cores(out.GeneratorCPU), out.Cores(out.OtherCPU), answerTimes(out.Load), out.LoadAvg)
			if out.Lost > 0 {
				break
			}
			best = rate
		}
		bests = append(bests, best)
	}
	fmt.Fprintf(b, "\nHighest rate with zero loss: **%s spans/s** (median of the sweeps, range; target: at least 30000). Rates are tried "+
		"in order until one loses spans; the load generator, the sink and the collector share the machine's two cores. Spans offered "+
		"but not accepted were refused at intake (the collector pushing back, or answering too slowly for the generator's backlog); "+
		"spans accepted but not delivered would be losses inside the collector.\n\n", spreadOf(bests, "%.0f"))
	return nil
}

// answerTimes is the receiver's answer times of a run, in milliseconds.
func answerTimes(r loadtest.Result) string {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return fmt.Sprintf("%.0f, %.0f, %.0f", ms(r.P50), ms(r.P99), ms(r.Max))
}

// spread is the median of f over outs, with the lowest and highest.
func spread(outs []loadtest.Outcome, format string, f func(loadtest.Outcome) float64) string {
	var v []float64
	for _, o := range outs {
		v = append(v, f(o))
	}
	return spreadOf(v, format)
}

func spreadOf(v []float64, format string) string {
	if len(v) == 0 {
		return "-"
	}
	s := slices.Sorted(slices.Values(v))
	med := fmt.Sprintf(format, s[len(s)/2])
	if len(s) == 1 {
		return med
	}
	return fmt.Sprintf("%s (%s–%s)", med, fmt.Sprintf(format, s[0]), fmt.Sprintf(format, s[len(s)-1]))
}

func medianOf(outs []loadtest.Outcome, f func(loadtest.Outcome) float64) float64 {
	var v []float64
	for _, o := range outs {
		v = append(v, f(o))
	}
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func soak(ctx context.Context, r *loadtest.Runner, o options, w io.Writer) (string, error) {
	var samples []loadtest.Sample
	fmt.Fprintf(w, "a365loadtest: soak, agent365 at %.0f spans/s for %s\n", o.soakRate, o.soak)
	out, err := r.Run(ctx, loadtest.Scenario{
		Exporter: loadtest.Agent365, Protocol: o.protocol, Senders: o.senders, Rate: o.soakRate, Duration: o.soak, SampleEvery: 10 * time.Second,
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
