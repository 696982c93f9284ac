package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestRouteOfFoldsNames(t *testing.T) {
	for in, want := range map[string]string{
		"GET /admin/api/v3/tenants/t-00001":       "GET tenants/{name}",
		"POST /admin/api/v3/tokens":               "POST tokens",
		"DELETE /admin/api/v3/accesspolicies/p-1": "DELETE accesspolicies/{name}",
		"GET /admin/api/v3/clusters":              "GET clusters",
	} {
		if got := routeOf(in); got != want {
			t.Errorf("routeOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadUsage(t *testing.T) {
	f := filepath.Join(t.TempDir(), "phase.rusage")
	if err := os.WriteFile(f, []byte("10 2048 0.500 0.250\n11 4096 1.000 0.000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	procs, peak, cpu, err := readUsage(f)
	if err != nil || procs != 2 || peak != 4096 || cpu != 1.75 {
		t.Errorf("readUsage = %d, %d, %v, %v", procs, peak, cpu, err)
	}
	// The wrapper appends to the phase's file, and the next run of the
	// phase writes to the same one: reading consumes it, so that a run
	// counts its own processes only.
	a, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.WriteString("12 1024 0.100 0.000\n"); err != nil {
		t.Fatal(err)
	}
	_ = a.Close()
	if procs, peak, _, err := readUsage(f); err != nil || procs != 1 || peak != 1024 {
		t.Errorf("second run of the phase: %d processes, peak %d, %v; want its own one process", procs, peak, err)
	}
	if procs, _, _, err := readUsage(f + ".missing"); err != nil || procs != 0 {
		t.Errorf("no file (terraform_data): %d, %v", procs, err)
	}
}

func TestFindCLIs(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"terraform-1.13", "terraform", "tofu", "terraform-provider-tempo", "helm", "cli.tfrc"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "terraform-1.13.3-src"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := findCLIs(dir)
	if want := []string{"tofu", "terraform", "terraform-1.13"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("findCLIs = %v, %v; want %v", got, err, want)
	}
}

// Every configuration changes exactly what the change phase says, and the
// mixed ones chain their objects inside one module instance per team.
func TestConfigs(t *testing.T) {
	for _, prov := range []string{provTempo, provNoIO, provData} {
		v1, v2 := configFor("mixed", prov, 9, 1, "http://127.0.0.1:1"), configFor("mixed", prov, 9, 2, "http://127.0.0.1:1")
		if !strings.Contains(v1["main.tf"], "count   = 3") {
			t.Errorf("%s: mixed with n=9 is not 3 teams:\n%s", prov, v1["main.tf"])
		}
		if strings.ReplaceAll(v1["main.tf"], `"v1"`, `"v2"`) != v2["main.tf"] || v1["team/main.tf"] != v2["team/main.tf"] {
			t.Errorf("%s: versions 1 and 2 differ in more than the display names", prov)
		}
		team := v1["team/main.tf"]
		if strings.Count(team, "resource \"") != 3 || strings.Contains(team, "count") {
			t.Errorf("%s: a team is not one object of each kind:\n%s", prov, team)
		}
		if !regexp.MustCompile(`= (tempo_tenant|terraform_data)\.t\.`).MatchString(team) || !regexp.MustCompile(`= (tempo_access_policy|terraform_data)\.p\.`).MatchString(team) {
			t.Errorf("%s: objects are not chained:\n%s", prov, team)
		}
	}
	for _, prov := range []string{provTempo, provData} {
		c := configFor("tenants", prov, 5, 1, "http://127.0.0.1:1")
		if len(c) != 1 || strings.Contains(c["main.tf"], "token") || !regexp.MustCompile(`count += 5`).MatchString(c["main.tf"]) {
			t.Errorf("tenants, %s:\n%s", prov, c)
		}
	}
}

func TestMedianAndRange(t *testing.T) {
	rs := []result{
		{Run: 1, Seconds: 3, ProviderPeakRSSKiB: 300, Requests: map[string]int{"POST tenants": 5}},
		{Run: 2, Seconds: 1, ProviderPeakRSSKiB: 100},
		{Run: 3, Seconds: 2, ProviderPeakRSSKiB: 900},
	}
	m := median(rs)
	if m.Seconds != 2 || m.ProviderPeakRSSKiB != 300 || m.Requests["POST tenants"] != 5 {
		t.Errorf("median = %+v", m)
	}
	if m := median(rs[:2]); m.Seconds != 2 || m.ProviderPeakRSSKiB != 200 {
		t.Errorf("median of two = %+v", m)
	}
	noio := []result{{Run: 1, Seconds: 2}, {Run: 2, Seconds: 1}, {Run: 3, Seconds: 1}}
	if got := ratioRange(rs, noio); got != "1.00–2.00" {
		t.Errorf("ratioRange = %q", got)
	}
	if got := ratioRange(rs, nil); got != "–" {
		t.Errorf("ratioRange without noio = %q", got)
	}
}
