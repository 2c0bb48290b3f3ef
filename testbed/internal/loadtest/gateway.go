package loadtest // import "github.com/agent365-otel/agent365exporter/testbed/internal/loadtest"

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/agent365-otel/agent365exporter/internal/sample"
)

// Gateway is the recommended gateway pipeline as deploy/kubernetes/gateway
// sets it up: its receiver, processors, the agent365 exporter's settings
// (its sending_queue with batching and storage, retries) and the process's
// GOMEMLIMIT. The load test runs it with only what ties it to a cluster
// replaced: endpoints, the credential, directories.
type Gateway struct {
	// Dir is where it was read from.
	Dir string
	// OTLP is receivers.otlp.
	OTLP map[string]any
	// Processors are the processors section, in the pipeline's order.
	Processors         map[string]any
	PipelineProcessors []string
	// Agent365 is exporters.agent365.
	Agent365 map[string]any
	// Storage is the extension the sending_queue keeps its data in, when
	// it has one (file_storage/queue).
	StorageID string
	Storage   map[string]any
	// GoEnv is the Go runtime's settings (GOMEMLIMIT, GOGC) of the
	// collector's container, as NAME=value.
	GoEnv []string
}

// LoadGateway reads collector.yaml and statefulset.yaml of dir.
func LoadGateway(dir string) (Gateway, error) {
	g := Gateway{Dir: dir}
	var cfg struct {
		Extensions map[string]map[string]any `yaml:"extensions"`
		Receivers  map[string]map[string]any `yaml:"receivers"`
		Processors map[string]any            `yaml:"processors"`
		Exporters  map[string]map[string]any `yaml:"exporters"`
		Service    struct {
			Pipelines map[string]struct {
				Processors []string `yaml:"processors"`
				Exporters  []string `yaml:"exporters"`
			} `yaml:"pipelines"`
		} `yaml:"service"`
	}
	if err := readYAML(filepath.Join(dir, "collector.yaml"), &cfg); err != nil {
		return g, err
	}
	traces, ok := cfg.Service.Pipelines["traces"]
	if !ok {
		return g, errors.New("gateway: no traces pipeline")
	}
	g.OTLP = cfg.Receivers["otlp"]
	if g.OTLP == nil {
		return g, errors.New("gateway: no otlp receiver")
	}
	g.Agent365 = cfg.Exporters["agent365"]
	if g.Agent365 == nil {
		return g, errors.New("gateway: no agent365 exporter")
	}
	g.Processors, g.PipelineProcessors = cfg.Processors, traces.Processors
	if queue, _ := g.Agent365["sending_queue"].(map[string]any); queue != nil {
		if id, _ := queue["storage"].(string); id != "" {
			g.StorageID, g.Storage = id, cfg.Extensions[id]
			if g.Storage == nil {
				return g, fmt.Errorf("gateway: the sending_queue's storage %q is not configured", id)
			}
		}
	}

	var set struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Name string `yaml:"name"`
						Env  []struct {
							Name  string `yaml:"name"`
							Value string `yaml:"value"`
						} `yaml:"env"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	if err := readYAML(filepath.Join(dir, "statefulset.yaml"), &set); err != nil {
		return g, err
	}
	for _, c := range set.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == "GOMEMLIMIT" || e.Name == "GOGC" {
				g.GoEnv = append(g.GoEnv, e.Name+"="+e.Value)
			}
		}
	}
	return g, nil
}

func readYAML(path string, v any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Ports are the loopback ports of one run.
type Ports struct {
	Sink, OTLPGRPC, OTLPHTTP, Health, Metrics, PProf int
}

func loopback(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// CollectorConfig is the gateway pipeline with exporter e in place of the
// agent365 exporter (its sending_queue and retry_on_failure unchanged),
// sending to a365sink; dir holds the queue's storage.
func CollectorConfig(g Gateway, e Exporter, p Ports, dir string) ([]byte, error) {
	otlp := deepCopy(g.OTLP).(map[string]any)
	protocols, _ := otlp["protocols"].(map[string]any)
	if protocols == nil {
		return nil, errors.New("gateway: the otlp receiver has no protocols")
	}
	for name, port := range map[string]int{"grpc": p.OTLPGRPC, "http": p.OTLPHTTP} {
		proto, _ := protocols[name].(map[string]any)
		if proto == nil {
			if _, listed := protocols[name]; !listed {
				continue
			}
			proto = map[string]any{}
		}
		proto["endpoint"] = loopback(port)
		protocols[name] = proto
	}

	extensions := map[string]any{
		"agent365auth": map[string]any{"static": map[string]any{"token": token}},
		"health_check": map[string]any{"endpoint": loopback(p.Health)},
		"pprof":        map[string]any{"endpoint": loopback(p.PProf)},
	}
	serviceExtensions := []string{"agent365auth", "health_check", "pprof"}
	if g.StorageID != "" {
		storage := deepCopy(g.Storage).(map[string]any)
		storage["directory"] = filepath.Join(dir, "queue")
		if c, _ := storage["compaction"].(map[string]any); c != nil {
			c["directory"] = filepath.Join(dir, "compaction")
		}
		for _, d := range []string{"queue", "compaction"} {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
				return nil, err
			}
		}
		extensions[g.StorageID] = storage
		serviceExtensions = append(serviceExtensions, g.StorageID)
	}

	agent365 := deepCopy(g.Agent365).(map[string]any)
	agent365["endpoint"] = "http://" + loopback(p.Sink)
	agent365["auth"] = map[string]any{"authenticator": "agent365auth"}
	if id, _ := agent365["identity"].(map[string]any); id != nil {
		if _, ok := id["allowed_tenants"]; ok {
			// The sample's tenants in place of the cluster's.
			id["allowed_tenants"] = sampleTenants()
		}
	}
	name, exporter := "agent365", agent365
	switch e {
	case OTLPHTTPJSON, OTLPHTTPJSONGzip:
		compression := "none"
		if e == OTLPHTTPJSONGzip {
			compression = "gzip"
		}
		// The stock exporter's type; "otlphttp" is its deprecated alias.
		name = "otlp_http"
		exporter = map[string]any{
			"traces_endpoint": "http://" + loopback(p.Sink) + "/v1/traces",
			"encoding":        "json",
			"compression":     compression,
		}
		for _, k := range []string{"sending_queue", "retry_on_failure", "timeout"} {
			if v, ok := agent365[k]; ok {
				exporter[k] = v
			}
		}
	}

	cfg := map[string]any{
		"extensions": extensions,
		"receivers":  map[string]any{"otlp": otlp},
		"processors": deepCopy(g.Processors),
		"exporters":  map[string]any{name: exporter},
		"service": map[string]any{
			"extensions": serviceExtensions,
			"pipelines": map[string]any{"traces": map[string]any{
				"receivers":  []string{"otlp"},
				"processors": g.PipelineProcessors,
				"exporters":  []string{name},
			}},
			"telemetry": map[string]any{
				"logs": map[string]any{"level": "warn"},
				"metrics": map[string]any{
					"level": "normal",
					"readers": []any{map[string]any{"pull": map[string]any{"exporter": map[string]any{
						"prometheus": map[string]any{"host": "127.0.0.1", "port": p.Metrics},
					}}}},
				},
			},
		},
	}
	if len(g.PipelineProcessors) == 0 {
		delete(cfg, "processors")
	}
	return yaml.Marshal(cfg)
}

func sampleTenants() []any {
	var out []any
	seen := map[string]bool{}
	for _, a := range sample.DefaultAgents {
		if !seen[a.TenantID] {
			seen[a.TenantID] = true
			out = append(out, a.TenantID)
		}
	}
	return out
}

// deepCopy copies the maps and lists of a YAML document, so that a run's
// replacements never reach the Gateway.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := maps.Clone(t)
		for k, x := range m {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = deepCopy(x)
		}
		return s
	default:
		return v
	}
}
