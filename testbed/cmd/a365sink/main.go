// Command a365sink is a local stand-in for the Microsoft Agent 365 trace
// ingestion service: point the agent365 exporter (or an Agent 365 SDK) at it
// to see what your agents send, and which required attributes they lack,
// without an Agent 365 tenant. Run a365sink -h for its usage.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/agent365-otel/agent365exporter/testbed/internal/sink"
)

// shutdownTimeout bounds the graceful shutdown.
const shutdownTimeout = 5 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "a365sink:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a mistake in the command line.
type usageError struct{ error }

type options struct {
	listen      string
	addrFile    string
	token       string
	maxBody     int64
	out         string
	discard     bool
	latency     time.Duration
	results     bool
	tlsCert     string
	tlsKey      string
	quiet       bool
	allowRemote bool
}

const usageHead = `Usage: a365sink [flags]

a365sink stands in for the Microsoft Agent 365 trace ingestion service on your
machine. Point the agent365 exporter, or an Agent 365 SDK, at it to check your
agents' instrumentation without an Agent 365 tenant: it answers like the
service, records every accepted span, and reports per tenant and agent which
required attributes the spans lack.

Quick start:
  a365sink -out spans.jsonl
  # collector: exporters: agent365: endpoint: http://127.0.0.1:4319
  # SDKs:      A365_OBSERVABILITY_DOMAIN_OVERRIDE=http://127.0.0.1:4319
  # send some traffic, then:
  curl http://127.0.0.1:4319/_sink/report.txt
  # Ctrl-C stops the sink and prints the report.

Routes (POST, query api-version=1, header "Authorization: Bearer <token>";
any token unless -token is given):
  /observability/tenants/{tenantId}/otlp/agents/{agentId}/traces
  /observabilityService/tenants/{tenantId}/otlp/agents/{agentId}/traces
  /maven/agent365/agents/{agentId}/traces            (tenant: x-ms-tenant-id header)
  /maven/agent365/service/agents/{agentId}/traces    (tenant: x-ms-tenant-id header)
  /v1/traces   plain OTLP/HTTP (protobuf or JSON), counted only, no auth
Bodies: the Agent 365 SDK shape (attributes as JSON objects) or OTLP/JSON.

Control API (no auth):
  GET    /_sink/report.txt   the report as text (/_sink/report: JSON)
  GET    /_sink/stats        counters;  POST /_sink/reset clears report and counters
  POST   /_sink/faults       e.g. {"status":503,"times":3,"retry_after":"2"},
                             {"delay":"2s"}, {"reset":true,"agent":"<id>"},
                             {"results":{"status":"not_routed","reason":"TenantNotEligible"}}
  DELETE /_sink/faults       clears the faults;  GET /_sink/healthz

Flags:
`

func parseFlags(args []string, stdout io.Writer) (*options, bool, error) {
	o := &options{}
	fs := flag.NewFlagSet("a365sink", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:4319", "`host:port` to listen on; port 0 picks a free port")
	fs.StringVar(&o.addrFile, "addr-file", "", "write the actual host:port to this `file` once listening")
	fs.StringVar(&o.token, "token", "", "accept only this bearer `token` (default: any bearer token)")
	fs.Int64Var(&o.maxBody, "max-body", sink.DefaultMaxBodyBytes, "largest accepted request body in `bytes`; larger ones get 413")
	fs.StringVar(&o.out, "out", "", "append one JSON line per accepted span to this `file` (\"-\": stdout)")
	fs.BoolVar(&o.discard, "discard", false, "accept and count spans without decoding or recording them (load tests)")
	fs.DurationVar(&o.latency, "latency", 0, "delay every answer by this `duration`, e.g. 50ms")
	fs.BoolVar(&o.results, "results", false, "list each span's result per destination in 200 answers, as the service may")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with this certificate `file` (PEM; needs -tls-key)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "private key `file` of -tls-cert (PEM)")
	fs.BoolVar(&o.quiet, "quiet", false, "do not log each request")
	fs.BoolVar(&o.allowRemote, "allow-remote", false, "allow listening on a non-loopback address (the sink has no real security)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usageHead)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil, true, nil
		}
		return nil, false, usageError{fmt.Errorf("%v (run a365sink -h for help)", err)}
	}
	switch {
	case fs.NArg() > 0:
		return nil, false, usageError{fmt.Errorf("unexpected arguments %q (run a365sink -h for help)", fs.Args())}
	case o.maxBody <= 0:
		return nil, false, usageError{errors.New("-max-body must be positive")}
	case o.latency < 0:
		return nil, false, usageError{errors.New("-latency must not be negative")}
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return nil, false, usageError{errors.New("-tls-cert and -tls-key go together")}
	case o.discard && o.out != "":
		return nil, false, usageError{errors.New("-discard records nothing; leave out -out")}
	}
	if err := checkListen(o.listen, o.allowRemote); err != nil {
		return nil, false, usageError{err}
	}
	return o, false, nil
}

// checkListen refuses addresses other than loopback ones unless allowRemote.
func checkListen(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-listen %q: %v", addr, err)
	}
	if allowRemote || isLoopbackHost(host) {
		return nil
	}
	return fmt.Errorf("-listen %q is not a loopback address; the sink is a test tool without real security: "+
		"listen on 127.0.0.1 or [::1], or pass -allow-remote", addr)
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	host, _, _ = strings.Cut(host, "%") // zone
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// run is the command: it serves until ctx is done, then shuts down within
// shutdownTimeout and prints the report. stdout gets the banner and the
// report (stderr when -out - sends the records to stdout); stderr gets
// the request log.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, help, err := parseFlags(args, stdout)
	if err != nil || help {
		return err
	}
	msgs := stdout
	if o.out == "-" {
		msgs = stderr
	}

	var tlsConfig *tls.Config
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fmt.Errorf("loading the TLS certificate: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	cfg := sink.Config{Token: o.token, MaxBodyBytes: o.maxBody, Discard: o.discard, Latency: o.latency, Results: o.results}
	var outFile *os.File
	switch o.out {
	case "":
	case "-":
		cfg.Output = stdout
	default:
		f, err := os.OpenFile(o.out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("opening -out: %w", err)
		}
		outFile = f
		cfg.Output = f
	}
	closeOut := func() error {
		if outFile == nil {
			return nil
		}
		err := outFile.Close()
		outFile = nil
		return err
	}
	defer closeOut()
	if !o.quiet {
		cfg.Logger = log.New(stderr, "a365sink: ", log.LstdFlags|log.Lmicroseconds)
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !o.allowRemote && !tcp.IP.IsLoopback() {
		ln.Close()
		return fmt.Errorf("-listen %q resolved to %s, not a loopback address; pass -allow-remote to allow it", o.listen, tcp.IP)
	}
	addr := ln.Addr().String()
	if o.addrFile != "" {
		if err := writeFileAtomic(o.addrFile, addr); err != nil {
			ln.Close()
			return fmt.Errorf("writing -addr-file: %w", err)
		}
		defer os.Remove(o.addrFile)
	}

	snk := sink.New(cfg)
	srv := &http.Server{
		Handler:           snk,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         tlsConfig,
		ErrorLog:          log.New(stderr, "a365sink: http: ", 0),
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	fmt.Fprintf(msgs, "a365sink listening on %s://%s\n", scheme, addr)

	served := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			served <- srv.ServeTLS(ln, "", "")
		} else {
			served <- srv.Serve(ln)
		}
	}()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
		served = nil
	}
	snk.Close() // answer the requests waiting on -latency or a delay fault
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if served != nil {
		serveErr = <-served
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}

	fmt.Fprintln(msgs)
	if err := sink.WriteText(msgs, snk.Report()); err != nil {
		serveErr = errors.Join(serveErr, err)
	}
	if st := snk.Stats(); st.OTLPSpans > 0 || o.discard {
		fmt.Fprintf(msgs, "\nspans accepted: %d, OTLP spans on /v1/traces: %d, requests: %d\n", st.SpansAccepted, st.OTLPSpans, st.Requests)
	}
	return errors.Join(serveErr, closeOut())
}

// writeFileAtomic writes content so that readers never see a partial file.
func writeFileAtomic(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".a365sink-addr-*")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
