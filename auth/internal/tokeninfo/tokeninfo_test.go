package tokeninfo

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func jwt(payload string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"RS256"}`)) + "." + enc.EncodeToString([]byte(payload)) + ".c2lnbmF0dXJl"
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, token string
		ok          bool
		want        string
	}{
		{"v1 app token", jwt(`{"appid":"app-1","aud":"api://9b975845-388f-4429-889e-eab1ef63949c","tid":"t1","roles":["Agent365.Observability.OtelWrite"],"exp":1700000000}`), true,
			`appid="app-1" aud="api://9b975845-388f-4429-889e-eab1ef63949c" tid="t1" roles="Agent365.Observability.OtelWrite" scp=""`},
		{"v2 delegated token with bearer prefix", "Bearer " + jwt(`{"azp":"app-2","aud":["a","b"],"scp":"User.Read"}`), true,
			`appid="app-2" aud="a,b" roles="" scp="User.Read"`},
		{"opaque token", "not-a-jwt", false, ""},
		{"bad base64", "a.%%%.c", false, ""},
		{"bad json", jwt(`{`), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := Parse(tt.token)
			assert.Equal(t, tt.ok, ok)
			if ok {
				assert.Equal(t, tt.want, c.String())
				assert.NotContains(t, c.String(), "c2lnbmF0dXJl")
			}
		})
	}
	c, _ := Parse(jwt(`{"exp":1700000000}`))
	assert.Equal(t, time.Unix(1700000000, 0), c.Expiry())
	assert.True(t, Claims{}.Expiry().IsZero())
}
