package e2e

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/agent365-otel/agent365exporter/testbed/internal/loadtest"
)

// envRef matches ${env:NAME} and ${env:NAME:-default}.
var envRef = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)

// TestShippedConfigsValidate: `otelcol-agent365 validate` accepts every
// collector configuration under examples/ and deploy/, whether a file of its
// own or embedded in a Kubernetes ConfigMap; every other YAML document there
// must be a Kubernetes object.
func TestShippedConfigsValidate(t *testing.T) {
	var files []string
	for _, dir := range []string{"examples", "deploy"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				files = append(files, path)
			}
			return nil
		})
		if dir == "deploy" && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		require.NoError(t, err)
	}
	require.NotEmpty(t, files)

	configs := 0
	for _, file := range files {
		rel, _ := filepath.Rel(root, file)
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for doc := 0; ; doc++ {
			var m map[string]any
			err := dec.Decode(&m)
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err, "%s document %d is not YAML", rel, doc)
			if m == nil {
				continue
			}
			switch {
			case isCollectorConfig(m):
				validate(t, rel, data)
				checkConventions(t, rel, m)
				configs++
			case m["kind"] == "ConfigMap":
				cmData, _ := m["data"].(map[string]any)
				for key, v := range cmData {
					text, _ := v.(string)
					var inner map[string]any
					if yaml.Unmarshal([]byte(text), &inner) == nil && isCollectorConfig(inner) {
						validate(t, rel+" ConfigMap "+key, []byte(text))
						checkConventions(t, rel+" ConfigMap "+key, inner)
						configs++
					}
				}
			case m["apiVersion"] != nil && m["kind"] != nil:
				// A Kubernetes object: parsed, nothing more to check here.
			default:
				t.Errorf("%s document %d is neither a collector configuration nor a Kubernetes object", rel, doc)
			}
		}
	}
	assert.GreaterOrEqual(t, configs, 1)
	t.Logf("validated %d collector configurations in %d files", configs, len(files))
}

// TestLoadTestConfigsValidate: the configurations `make loadtest` writes
// (the gateway's pipeline of deploy/) are accepted by the distribution and
// follow its release's conventions.
func TestLoadTestConfigsValidate(t *testing.T) {
	gateway, err := loadtest.LoadGateway(filepath.Join("..", "..", "deploy", "kubernetes", "gateway"))
	require.NoError(t, err)
	ports := loadtest.Ports{Sink: 14319, OTLPGRPC: 14318, OTLPHTTP: 14317, Health: 14316, Metrics: 14315, PProf: 14314}
	for _, e := range []loadtest.Exporter{loadtest.Agent365, loadtest.OTLPHTTPJSON, loadtest.OTLPHTTPJSONGzip} {
		t.Run(string(e), func(t *testing.T) {
			config, err := loadtest.CollectorConfig(gateway, e, ports, t.TempDir())
			require.NoError(t, err)
			validate(t, "the load test's configuration", config)
			var m map[string]any
			require.NoError(t, yaml.Unmarshal([]byte(config), &m))
			checkConventions(t, "the load test's configuration", m)
		})
	}
}

// checkConventions fails a collector configuration that uses what the
// pinned collector release deprecates: the otlphttp alias of the otlp_http
// exporter, and the batch processor in place of the exporters' own batching
// (sending_queue::batch).
func checkConventions(t *testing.T, name string, m map[string]any) {
	t.Helper()
	for section, deprecated := range map[string]string{"exporters": "otlphttp", "processors": "batch"} {
		components, _ := m[section].(map[string]any)
		for id := range components {
			typ, _, _ := strings.Cut(id, "/")
			assert.NotEqual(t, deprecated, typ, "%s: %s.%s", name, section, id)
		}
	}
}

func isCollectorConfig(m map[string]any) bool {
	_, service := m["service"]
	_, exporters := m["exporters"]
	return service && exporters
}

// validate runs `otelcol-agent365 validate` on a configuration, with
// placeholder values for the environment variables it names.
func validate(t *testing.T, name string, config []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, config, 0o600))
	env := os.Environ()
	for _, m := range envRef.FindAllStringSubmatch(string(config), -1) {
		if m[2] != "" {
			continue // it has a default
		}
		value := "e2e-placeholder"
		if strings.HasSuffix(m[1], "PORT") {
			value = "14318"
		}
		env = append(env, m[1]+"="+value)
	}
	cmd := exec.Command(bin("otelcol-agent365"), "validate", "--config", path)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "%s is rejected:\n%s", name, out)
}

// TestValidateRejectsMistakes: a broken agent365 configuration is reported
// by the binary, in words that say what to change.
func TestValidateRejectsMistakes(t *testing.T) {
	base, err := os.ReadFile(filepath.Join(root, "examples", "local.yaml"))
	require.NoError(t, err)
	tests := []struct {
		name, from, to, want string
	}{
		{"plain http to a remote host", "endpoint: http://127.0.0.1:${env:SINK_PORT:-4319}", "endpoint: http://agent365.example.com",
			"uses plain http to a non-loopback host"},
		{"misspelt key", "    sending_queue:", "    max_span_byte: 10\n    sending_queue:", `did you mean "max_span_bytes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			config := strings.Replace(string(base), tt.from, tt.to, 1)
			require.NotEqual(t, string(base), config)
			path := filepath.Join(t.TempDir(), "config.yaml")
			require.NoError(t, os.WriteFile(path, []byte(config), 0o600))
			out, err := exec.Command(bin("otelcol-agent365"), "validate", "--config", path).CombinedOutput()
			require.Error(t, err)
			assert.Contains(t, string(out), tt.want)
		})
	}
}
