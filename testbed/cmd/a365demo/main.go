// Command a365demo sends a short, realistic agent conversation to an OTLP
// endpoint: per agent, turns of invoke_agent → chat → execute_tool →
// output_messages spans, for two agents in two tenants. The second agent's
// instrumentation leaves out a few attributes Agent 365 requires, so that
// a validation report has something to show.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/agent365-otel/agent365exporter/internal/sample"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "a365demo:", err)
		os.Exit(1)
	}
}

// demoAgents: two tenants, one agent each.
var demoAgents = []sample.Agent{sample.DefaultAgents[0], sample.DefaultAgents[2]}

// omitted are the attributes the second agent does not set.
var omitted = []string{"client.address", "user.email", "gen_ai.tool.type"}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "wait":
			return waitCommand(ctx, args[1:], out)
		case "report":
			return reportCommand(ctx, args[1:], out)
		}
	}
	fs := flag.NewFlagSet("a365demo", flag.ContinueOnError)
	fs.SetOutput(out)
	endpoint := fs.String("endpoint", "127.0.0.1:4317", "OTLP endpoint: host:port for grpc, URL or host:port for http")
	protocol := fs.String("protocol", "grpc", "grpc or http (OTLP/HTTP protobuf)")
	turns := fs.Int("turns", 2, "conversation turns per agent (4 spans each)")
	legacy := fs.Bool("legacy", false, "use the 2025 attribute names (tenant.id, gen_ai.caller.id, ...)")
	token := fs.String("token", "", "send this token as x-a365-token metadata (for the auth extension's from_context source)")
	timeout := fs.Duration("timeout", 10*time.Second, "timeout of each export")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage:
  a365demo [flags]                  send an agent conversation (invoke_agent, chat, execute_tool, output_messages) over OTLP
  a365demo wait [-timeout d] URL    wait until URL answers 200
  a365demo report [-expect n] [-timeout d] SINK_URL
                                    wait until a365sink at SINK_URL accepted n spans, then print its report

Flags of the first form:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *turns < 1 || *turns > 10000 {
		return fmt.Errorf("-turns must be between 1 and 10000, got %d", *turns)
	}
	td := conversation(*turns, *legacy, time.Now())
	req := ptraceotlp.NewExportRequestFromTraces(td)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	var err error
	switch *protocol {
	case "grpc":
		err = sendGRPC(ctx, *endpoint, *token, req)
	case "http":
		err = sendHTTP(ctx, *endpoint, *token, req)
	default:
		return fmt.Errorf("-protocol must be grpc or http, got %q", *protocol)
	}
	if err != nil {
		return err
	}
	noun := "turns"
	if *turns == 1 {
		noun = "turn"
	}
	fmt.Fprintf(out, "a365demo: sent %d spans (%d %s of %d agents in %d tenants) over OTLP/%s to %s\n",
		td.SpanCount(), *turns, noun, len(demoAgents), len(demoAgents), *protocol, *endpoint)
	return nil
}

// conversation builds the demo traces; the second agent omits some attributes.
func conversation(turns int, legacy bool, start time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	for i, ag := range demoAgents {
		opts := sample.Options{Legacy: legacy}
		if i == 1 {
			opts.Omit = omitted
		}
		part := sample.Traces([]sample.Agent{ag}, turns, start, opts)
		part.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	}
	return td
}

func sendGRPC(ctx context.Context, endpoint, token string, req ptraceotlp.ExportRequest) error {
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "x-a365-token", token)
	}
	resp, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, req)
	if err != nil {
		return fmt.Errorf("OTLP/gRPC export to %s: %w", endpoint, err)
	}
	if ps := resp.PartialSuccess(); ps.RejectedSpans() > 0 {
		return fmt.Errorf("the collector rejected %d spans: %s", ps.RejectedSpans(), ps.ErrorMessage())
	}
	return nil
}

func sendHTTP(ctx context.Context, endpoint, token string, req ptraceotlp.ExportRequest) error {
	url := endpoint
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	if !strings.HasSuffix(url, "/v1/traces") {
		url = strings.TrimRight(url, "/") + "/v1/traces"
	}
	body, err := req.MarshalProto()
	if err != nil {
		return err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", "application/x-protobuf")
	if token != "" {
		hreq.Header.Set("x-a365-token", token)
	}
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return fmt.Errorf("OTLP/HTTP export to %s: %w", url, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("OTLP/HTTP export to %s: HTTP %d: %s", url, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	r := ptraceotlp.NewExportResponse()
	if err := r.UnmarshalProto(msg); err == nil && r.PartialSuccess().RejectedSpans() > 0 {
		return errors.New("the collector rejected spans: " + r.PartialSuccess().ErrorMessage())
	}
	return nil
}

// waitCommand polls a URL until it answers 200.
func waitCommand(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("a365demo wait", flag.ContinueOnError)
	fs.SetOutput(out)
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: a365demo wait [-timeout d] URL")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	return poll(ctx, func() (bool, error) {
		status, _, err := get(ctx, fs.Arg(0))
		return err == nil && status == http.StatusOK, nil
	}, fmt.Sprintf("%s did not answer 200 within %s", fs.Arg(0), *timeout))
}

// reportCommand waits for a365sink to accept spans, then prints its report.
func reportCommand(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("a365demo report", flag.ContinueOnError)
	fs.SetOutput(out)
	expect := fs.Int("expect", 0, "spans to wait for")
	timeout := fs.Duration("timeout", 15*time.Second, "how long to wait for them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: a365demo report [-expect n] [-timeout d] SINK_URL")
	}
	base := strings.TrimRight(fs.Arg(0), "/")
	wctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	var accepted int64
	waitErr := poll(wctx, func() (bool, error) {
		_, body, err := get(wctx, base+"/_sink/stats")
		if err != nil {
			return false, nil
		}
		var stats struct {
			SpansAccepted int64 `json:"spans_accepted"`
		}
		if err := json.Unmarshal(body, &stats); err != nil {
			return false, fmt.Errorf("reading %s/_sink/stats: %w", base, err)
		}
		accepted = stats.SpansAccepted
		return accepted >= int64(*expect), nil
	}, "")
	_, report, err := get(ctx, base+"/_sink/report.txt")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "What Agent 365 received (%s/_sink/report.txt):\n\n%s\n", base, report)
	if waitErr != nil {
		return fmt.Errorf("only %d of %d spans arrived within %s", accepted, *expect, *timeout)
	}
	return nil
}

// poll calls check every 100 ms until it is done, fails, or ctx ends.
func poll(ctx context.Context, check func() (bool, error), timeoutMsg string) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		done, err := check()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			if timeoutMsg != "" {
				return errors.New(timeoutMsg)
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func get(ctx context.Context, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}
