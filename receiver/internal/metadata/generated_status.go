// Package metadata holds the receiver's type, stability and self-telemetry.
//
// It has the shape mdatagen generates from ../../metadata.yaml. mdatagen is
// not available for the pinned collector version, so this package is kept by
// hand: change metadata.yaml and this package together.
package metadata // import "github.com/agent365-otel/agent365exporter/receiver/internal/metadata"

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("agent365")
	ScopeName = "github.com/agent365-otel/agent365exporter/receiver"
)

const (
	TracesStability = component.StabilityLevelAlpha
)
