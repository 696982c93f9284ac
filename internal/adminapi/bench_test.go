package adminapi_test

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
)

// benchEmulator serves an emulator for a benchmark.
func benchEmulator(b *testing.B) (*adminapi.Client, func()) {
	b.Helper()
	emu, err := emulator.New(emulator.Options{AdminToken: adminToken})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	c, err := adminapi.New(adminapi.Config{URL: srv.URL, Token: adminToken})
	if err != nil {
		b.Fatal(err)
	}
	return c, func() { srv.Close(); _ = emu.Close() }
}

// One tenant create: what an apply of thousands of tenants repeats.
func BenchmarkCreateTenant(b *testing.B) {
	c, stop := benchEmulator(b)
	defer stop()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := c.CreateTenant(ctx, adminapi.Tenant{Name: fmt.Sprintf("tenant-%07d", i), Cluster: "tempo"}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// One tenant read: what a refresh repeats once per managed object.
func BenchmarkGetTenant(b *testing.B) {
	c, stop := benchEmulator(b)
	defer stop()
	if _, err := c.CreateTenant(ctx, adminapi.Tenant{Name: "team-a", Cluster: "tempo"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetTenant(ctx, "team-a"); err != nil {
			b.Fatal(err)
		}
	}
}

// Listing 5,000 tenants, as the tempo_tenants data source does.
func BenchmarkListTenants5000(b *testing.B) {
	c, stop := benchEmulator(b)
	defer stop()
	for i := range 5000 {
		if _, err := c.CreateTenant(ctx, adminapi.Tenant{Name: fmt.Sprintf("tenant-%05d", i), Cluster: "tempo"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		l, err := c.ListTenants(ctx, false)
		if err != nil || len(l) != 5001 {
			b.Fatalf("%d tenants, %v", len(l), err)
		}
	}
}

// A policy with many realms and scopes, created and read back.
func BenchmarkAccessPolicyRoundTrip(b *testing.B) {
	c, stop := benchEmulator(b)
	defer stop()
	p := adminapi.AccessPolicy{Scopes: []string{"traces:read", "traces:write"}}
	for i := range 200 {
		p.Realms = append(p.Realms, adminapi.Realm{Tenant: fmt.Sprintf("tenant-%03d", i), Cluster: "tempo"})
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.Name = fmt.Sprintf("policy-%07d", i)
		if _, err := c.CreateAccessPolicy(ctx, p); err != nil {
			b.Fatal(err)
		}
		if _, err := c.GetAccessPolicy(ctx, p.Name); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
