package auth // import "github.com/agent365-otel/agent365exporter/auth"

import (
	"context"
	"fmt"
	"net/http"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/managedidentity"
)

// managedIdentitySource gets tokens of an Azure managed identity with
// MSAL for Go, which finds the endpoint of the host (App Service and
// Functions through IDENTITY_ENDPOINT/IDENTITY_HEADER, Azure Arc, Cloud
// Shell, Azure ML, Service Fabric, else the VM/AKS instance metadata
// service). A managed identity lives in one tenant: the request's tenant
// does not change the token.
type managedIdentitySource struct {
	redact   func() []string // every secret of the extension
	clientID string
	scope    string
	client   managedidentity.Client
}

func newManagedIdentitySource(cfg *ManagedIdentityConfig, key string, scopes []string, hc *http.Client, redact func() []string) (*managedIdentitySource, error) {
	var id managedidentity.ID = managedidentity.SystemAssigned()
	if cfg.ClientID != "" {
		id = managedidentity.UserAssignedClientID(cfg.ClientID)
	}
	c, err := managedidentity.New(id, managedidentity.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return &managedIdentitySource{redact: redact, clientID: cfg.ClientID, scope: scopes[0], client: c}, nil
}

func (s *managedIdentitySource) kind() string      { return sourceManagedIdentity }
func (s *managedIdentitySource) secrets() []string { return nil }

func (s *managedIdentitySource) name() string {
	if s.clientID == "" {
		return "system-assigned"
	}
	return s.clientID
}

func (s *managedIdentitySource) key(Identity) (cacheKey, error) {
	return cacheKey{authority: "managed_identity", client: s.name(), scope: s.scope}, nil
}

func (s *managedIdentitySource) fetch(ctx context.Context, _ Identity) (token, error) {
	res, err := s.client.AcquireToken(ctx, s.scope)
	if err != nil {
		return token{}, fmt.Errorf("agent365auth: managed_identity (%s): %w", s.name(), describe(err, s.redact()...))
	}
	return token{value: res.AccessToken, expiresOn: res.ExpiresOn}, nil
}
