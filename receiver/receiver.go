package agent365receiver // import "github.com/agent365-otel/agent365exporter/receiver"

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.uber.org/zap"

	"github.com/agent365-otel/agent365exporter/receiver/internal/metadata"
)

// agent365Receiver listens on the Agent 365 service's routes.
type agent365Receiver struct {
	cfg       *Config
	settings  receiver.Settings
	handler   *handler
	telemetry *metadata.TelemetryBuilder

	server     *http.Server
	addr       net.Addr // where it listens, once started
	shutdownWG sync.WaitGroup
}

func newReceiver(cfg *Config, set receiver.Settings, next consumer.Traces) (*agent365Receiver, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	h, err := newHandler(cfg, set, next, tb)
	if err != nil {
		return nil, err
	}
	return &agent365Receiver{cfg: cfg, settings: set, handler: h, telemetry: tb}, nil
}

// Start listens and serves until Shutdown.
func (r *agent365Receiver) Start(ctx context.Context, host component.Host) error {
	r.warnIfTokensExposed()
	server, err := r.cfg.ServerConfig.ToServer(ctx, host.GetExtensions(), r.settings.TelemetrySettings, r.handler,
		confighttp.WithErrorHandler(r.handler.decompressError))
	if err != nil {
		return err
	}
	ln, err := r.cfg.ServerConfig.ToListener(ctx)
	if err != nil {
		return err
	}
	r.server, r.addr = server, ln.Addr()
	r.settings.Logger.Info("Listening for Agent 365 SDK exports", zap.String("endpoint", ln.Addr().String()))
	r.shutdownWG.Add(1)
	go func() {
		defer r.shutdownWG.Done()
		if err := server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	}()
	return nil
}

// warnIfTokensExposed warns of a non-loopback endpoint without TLS. Not an
// error: a service mesh may encrypt what the receiver does not.
func (r *agent365Receiver) warnIfTokensExposed() {
	if r.cfg.exposesTokens() {
		r.settings.Logger.Warn("The agent365 receiver listens on a non-loopback address without TLS: "+
			"agents' bearer tokens and spans travel in clear. Configure tls (cert_file, key_file), "+
			"or use a loopback endpoint or a network with mTLS (a service mesh).",
			zap.String("endpoint", r.cfg.ServerConfig.NetAddr.Endpoint))
	}
}

// Shutdown stops listening and waits for requests in flight.
func (r *agent365Receiver) Shutdown(ctx context.Context) error {
	var err error
	if r.server != nil {
		err = r.server.Shutdown(ctx)
	}
	r.shutdownWG.Wait()
	r.telemetry.Shutdown()
	return err
}
