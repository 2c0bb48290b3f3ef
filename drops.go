package agent365exporter // import "github.com/agent365-otel/agent365exporter"

// dropReason says why a span was not delivered. Its name is the reason
// attribute of otelcol_exporter_agent365_dropped_spans.
type dropReason int

const (
	dropMissingOperation dropReason = iota
	dropUnsupportedOperation
	dropMissingTenant
	dropMissingAgent
	dropInvalidTenant
	dropInvalidAgent
	dropTenantNotAllowed
	dropAgentNotAllowed
	dropTenantDiscovery
	dropPermanentError
	dropPayloadTooLarge
	dropMissingRequired
	dropRetryAfterTooLong
	dropHoldFull
	dropRetriesExhausted
	dropRetryDisabled
	dropHoldFailed
	dropShutdown
	dropAuthenticatorRefused
	dropDuplicate
	dropMissingSpanID
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{
	dropMissingOperation:     "missing_operation",
	dropUnsupportedOperation: "unsupported_operation",
	dropMissingTenant:        "missing_tenant_id",
	dropMissingAgent:         "missing_agent_id",
	dropInvalidTenant:        "invalid_tenant_id",
	dropInvalidAgent:         "invalid_agent_id",
	dropTenantNotAllowed:     "tenant_not_allowed",
	dropAgentNotAllowed:      "agent_not_allowed",
	dropTenantDiscovery:      "tenant_discovery_failed",
	dropPermanentError:       "rejected_by_service",
	dropPayloadTooLarge:      "payload_too_large",
	dropMissingRequired:      "missing_required_attributes",
	dropRetryAfterTooLong:    "retry_after_too_long",
	dropHoldFull:             "held_spans_limit",
	dropRetriesExhausted:     "retries_exhausted",
	dropRetryDisabled:        "retry_disabled",
	dropHoldFailed:           "hold_storage_failed",
	dropShutdown:             "shutdown",
	dropAuthenticatorRefused: "authenticator_refused",
	dropDuplicate:            "duplicate",
	dropMissingSpanID:        "missing_trace_or_span_id",
}

func (r dropReason) String() string { return dropReasonNames[r] }

// atAdmission reports whether spans are dropped for r before the queue,
// where exporterhelper never counts them.
func (r dropReason) atAdmission() bool {
	switch r {
	case dropMissingOperation, dropUnsupportedOperation, dropMissingTenant, dropMissingAgent,
		dropInvalidTenant, dropInvalidAgent, dropTenantNotAllowed, dropAgentNotAllowed, dropMissingRequired,
		dropMissingSpanID:
		return true
	}
	return false
}
