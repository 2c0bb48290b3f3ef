// Package agent365receiver is an OpenTelemetry Collector receiver that
// listens on the routes of the Microsoft Agent 365 trace ingestion service,
// so that agents using Microsoft's Agent 365 SDK exporters send to the
// collector by setting one environment variable,
// A365_OBSERVABILITY_DOMAIN_OVERRIDE. See README.md.
package agent365receiver // import "github.com/agent365-otel/agent365exporter/receiver"
