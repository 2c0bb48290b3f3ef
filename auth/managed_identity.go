package auth // import "github.com/agent365-otel/agent365exporter/auth"

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/managedidentity"
)

// managedIdentitySource gets tokens of an Azure managed identity with
// MSAL for Go, which finds the endpoint of the host (App Service and
// Functions through IDENTITY_ENDPOINT/IDENTITY_HEADER, Azure Arc, Cloud
// Shell, Azure ML, Service Fabric, else the VM/AKS instance metadata
// service). A managed identity lives in one tenant: the request's tenant
// does not change the token.
//
// MSAL's own retries are off: the extension's cache retries a failed
// identity with a backoff, so that a failing endpoint gets one request per
// backoff step.
type managedIdentitySource struct {
	redact   func() []string // every secret of the extension
	clientID string
	scope    string
	client   managedidentity.Client
	// headers are the secrets the host gives for its identity endpoint.
	headers []string
}

// identityHeaderVars name the environment variables holding the secret
// header of the host's identity endpoint (App Service, Cloud Shell, ML).
var identityHeaderVars = []string{"IDENTITY_HEADER", "MSI_SECRET"}

func newManagedIdentitySource(cfg *ManagedIdentityConfig, key string, scopes []string, hc *http.Client, redact func() []string) (*managedIdentitySource, error) {
	var id managedidentity.ID = managedidentity.SystemAssigned()
	if cfg.ClientID != "" {
		id = managedidentity.UserAssignedClientID(cfg.ClientID)
	}
	c, err := managedidentity.New(id, managedidentity.WithHTTPClient(hc), managedidentity.WithRetryPolicyDisabled())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	var headers []string
	for _, v := range identityHeaderVars {
		if h := os.Getenv(v); h != "" {
			headers = append(headers, h)
		}
	}
	return &managedIdentitySource{redact: redact, clientID: cfg.ClientID, scope: scopes[0], client: c, headers: headers}, nil
}

func (s *managedIdentitySource) kind() string      { return sourceManagedIdentity }
func (s *managedIdentitySource) secrets() []string { return s.headers }

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
