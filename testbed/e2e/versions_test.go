package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

const (
	coreModules    = "go.opentelemetry.io/collector/"
	contribModules = "github.com/open-telemetry/opentelemetry-collector-contrib/"
)

var (
	goModRequire = regexp.MustCompile(`(?m)^\s*(?:require\s+)?(go\.opentelemetry\.io/collector/\S+)\s+(v\S+)`)
	semver       = regexp.MustCompile(`^v(\d+)\.(\d+)\.(\d+)$`)
	ocbVersion   = regexp.MustCompile(`(?m)^OCB_VERSION\s*:?=\s*(\S+)`)
	dockerOCB    = regexp.MustCompile(`go\.opentelemetry\.io/collector/cmd/builder@(\S+)`)
)

// TestVersionsAgree: the collector modules in go.mod, in builder-config.yaml,
// OCB in the Makefile and in the Dockerfile all come from one collector
// release (CONTRIBUTING.md, "Moving to the next collector release").
func TestVersionsAgree(t *testing.T) {
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(root, name))
		require.NoError(t, err)
		return string(data)
	}

	// go.mod: one v0 and one v1 version for every core module.
	gomod := map[string]string{}
	for _, m := range goModRequire.FindAllStringSubmatch(read("go.mod"), -1) {
		gomod[m[1]] = m[2]
	}
	require.NotEmpty(t, gomod)
	v0, v1 := releaseOf(t, "go.mod", gomod)
	// Core's stable (v1) and unstable (v0) modules are tagged together,
	// v1.N with v0.(N+94) since v1.17.0/v0.111.0.
	assert.Equal(t, minor(t, v1)+94, minor(t, v0), "go.mod: core %s and %s are not one release", v0, v1)

	// Every module of the repository requires the same release.
	for _, mod := range []string{"auth/go.mod", "receiver/go.mod", "testbed/go.mod"} {
		versions := map[string]string{}
		for _, m := range goModRequire.FindAllStringSubmatch(read(mod), -1) {
			versions[m[1]] = m[2]
		}
		require.NotEmpty(t, versions, mod)
		m0, m1 := releaseOf(t, mod, versions)
		assert.Equal(t, v0, m0, "%s and go.mod require different core releases", mod)
		assert.Equal(t, v1, m1, "%s and go.mod require different core releases", mod)
	}

	// builder-config.yaml: core at the same versions, contrib at the same
	// minor release (a patch release of contrib may follow core's).
	var manifest map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(read("builder-config.yaml")), &manifest))
	core := map[string]string{}
	for _, section := range []string{"receivers", "processors", "exporters", "extensions", "connectors", "providers"} {
		entries, _ := manifest[section].([]any)
		for _, e := range entries {
			entry, _ := e.(map[string]any)
			gomodField, _ := entry["gomod"].(string)
			module, version, ok := strings.Cut(gomodField, " ")
			require.True(t, ok, "builder-config.yaml %s: %q has no version", section, gomodField)
			switch {
			case strings.HasPrefix(module, coreModules):
				core[module] = version
			case strings.HasPrefix(module, contribModules):
				assert.Equal(t, minor(t, v0), minor(t, version), "builder-config.yaml: %s %s is not of core's release %s", module, version, v0)
				assert.Equal(t, 0, major(t, version), "builder-config.yaml: %s %s", module, version)
			}
		}
	}
	require.NotEmpty(t, core)
	b0, b1 := releaseOf(t, "builder-config.yaml", core)
	assert.Equal(t, v0, b0, "builder-config.yaml and go.mod pin different core releases")
	assert.Equal(t, v1, b1, "builder-config.yaml and go.mod pin different core releases")

	// OCB is released with core's v0 modules.
	m := ocbVersion.FindStringSubmatch(read("Makefile"))
	require.NotNil(t, m, "Makefile: no OCB_VERSION")
	assert.Equal(t, v0, m[1], "Makefile OCB_VERSION")
	m = dockerOCB.FindStringSubmatch(read(filepath.Join("deploy", "docker", "Dockerfile")))
	require.NotNil(t, m, "deploy/docker/Dockerfile installs no OCB")
	assert.Equal(t, v0, m[1], "deploy/docker/Dockerfile OCB")
}

// releaseOf returns the one v0 and the one v1 version of the core modules,
// failing on any module at another.
func releaseOf(t *testing.T, file string, modules map[string]string) (v0, v1 string) {
	t.Helper()
	for module, version := range modules {
		p := &v0
		if major(t, version) == 1 {
			p = &v1
		}
		if *p == "" {
			*p = version
		}
		assert.Equal(t, *p, version, "%s: %s is at %s, other modules of its kind at %s", file, module, version, *p)
	}
	require.NotEmpty(t, v0, "%s: no v0 core module", file)
	require.NotEmpty(t, v1, "%s: no v1 core module", file)
	return v0, v1
}

func major(t *testing.T, version string) int { return semverPart(t, version, 1) }
func minor(t *testing.T, version string) int { return semverPart(t, version, 2) }

func semverPart(t *testing.T, version string, i int) int {
	t.Helper()
	m := semver.FindStringSubmatch(version)
	require.NotNil(t, m, "%q is not a release version", version)
	var n int
	_, err := fmt.Sscan(m[i], &n)
	require.NoError(t, err)
	return n
}
