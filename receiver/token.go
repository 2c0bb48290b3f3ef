package agent365receiver // import "github.com/agent365-otel/agent365exporter/receiver"

import (
	"context"
	"net/http"
	"strings"

	"go.opentelemetry.io/collector/client"
)

// withToken hands the agent's token on. With include_metadata, confighttp
// has already put every request header into the client metadata (as the
// OTLP receiver does), Authorization ("Bearer <token>") among them; the
// token alone is added under token_metadata_key, where agent365auth's
// from_context looks by default. A header of that name sent by the client
// is replaced: the Authorization header is what the service would check.
func (h *handler) withToken(r *http.Request) context.Context {
	ctx := r.Context()
	if !h.cfg.ServerConfig.IncludeMetadata {
		return ctx
	}
	tok := bearerToken(r.Header.Get("Authorization"))
	if tok == "" {
		return ctx
	}
	info := client.FromContext(ctx)
	md := map[string][]string{}
	for k := range info.Metadata.Keys() {
		md[k] = info.Metadata.Get(k)
	}
	md[strings.ToLower(h.cfg.TokenMetadataKey)] = []string{tok}
	info.Metadata = client.NewMetadata(md)
	return client.NewContext(ctx, info)
}

// bearerToken is the token of an "Authorization: Bearer <token>" value,
// or "" for any other scheme.
func bearerToken(v string) string {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}
