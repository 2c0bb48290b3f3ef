package schema // import "github.com/agent365-otel/agent365exporter/internal/schema"

// Role is what the exporter reads from an attribute's value, beyond its
// presence.
type Role uint8

// Roles of attribute keys.
const (
	RoleNone Role = iota
	RoleOperation
	RoleTenant
	RoleTenantLegacy
	RoleAgent
	RoleAgentPlatform
	RoleAgentUser // the agent user id, or a legacy name of it: ZeroGUID names no agent user
)

// roles are the keys whose value identifies a span's tenant, agent and
// operation. RoleAgentUser follows from the contract's rules.
var roles = map[string]Role{
	OperationName:   RoleOperation,
	TenantID:        RoleTenant,
	TenantIDLegacy:  RoleTenantLegacy,
	AgentID:         RoleAgent,
	AgentPlatformID: RoleAgentPlatform,
}

// KeyInfo is everything Agent 365 makes of an attribute key. Info returns
// it; the zero KeyInfo is a key outside the contract.
type KeyInfo struct {
	Bit    uint64 // the field's bit in Presence; 0 when no rule needs the field
	Field  uint8  // 1 + the field's index in Fields; 0 for keys outside the contract
	Legacy uint8  // n > 0: the field's n-th legacy name, which upgrade_legacy_attributes renames
	Role   Role
}

// Name returns the current name of the key's field; "" outside the contract.
func (i KeyInfo) Name() string {
	if i.Field == 0 {
		return ""
	}
	return Fields[i.Field-1].Name
}
