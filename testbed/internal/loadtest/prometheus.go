package loadtest // import "github.com/agent365-otel/agent365exporter/testbed/internal/loadtest"

import (
	"bufio"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Bucket is a cumulative histogram bucket: Count observations <= UpperBound.
type Bucket struct {
	UpperBound float64
	Count      float64
}

// Metrics is a scrape of Prometheus text exposition: sample name with its
// labels (as written) to value.
type Metrics map[string]float64

// ParseMetrics reads Prometheus text format.
func ParseMetrics(text string) Metrics {
	m := Metrics{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] += v
	}
	return m
}

// Sum adds the samples of name whose labels contain every filter ("k=\"v\"").
func (m Metrics) Sum(name string, filters ...string) float64 {
	total := 0.0
	for k, v := range m {
		base, labels, _ := strings.Cut(k, "{")
		if base != name {
			continue
		}
		ok := true
		for _, f := range filters {
			ok = ok && strings.Contains(labels, f)
		}
		if ok {
			total += v
		}
	}
	return total
}

// Histogram collects the buckets of histogram name, summed over its series.
func (m Metrics) Histogram(name string) []Bucket {
	byBound := map[float64]float64{}
	for k, v := range m {
		base, labels, _ := strings.Cut(k, "{")
		if base != name+"_bucket" {
			continue
		}
		i := strings.Index(labels, `le="`)
		if i < 0 {
			continue
		}
		rest := labels[i+4:]
		le := rest[:strings.IndexByte(rest, '"')]
		bound := math.Inf(1)
		if le != "+Inf" {
			f, err := strconv.ParseFloat(le, 64)
			if err != nil {
				continue
			}
			bound = f
		}
		byBound[bound] += v
	}
	out := make([]Bucket, 0, len(byBound))
	for b, c := range byBound {
		out = append(out, Bucket{UpperBound: b, Count: c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UpperBound < out[j].UpperBound })
	return out
}

// Quantile estimates quantile q from cumulative buckets, interpolating
// linearly within the bucket that holds it (as Prometheus does).
func Quantile(buckets []Bucket, q float64) float64 {
	if len(buckets) == 0 {
		return math.NaN()
	}
	total := buckets[len(buckets)-1].Count
	if total == 0 {
		return math.NaN()
	}
	rank := q * total
	lower, lowerCount := 0.0, 0.0
	for _, b := range buckets {
		if b.Count >= rank {
			if math.IsInf(b.UpperBound, 1) {
				return lower
			}
			if b.Count == lowerCount {
				return b.UpperBound
			}
			return lower + (b.UpperBound-lower)*(rank-lowerCount)/(b.Count-lowerCount)
		}
		lower, lowerCount = b.UpperBound, b.Count
	}
	return lower
}
