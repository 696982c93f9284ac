// Command terraform-provider-tempo is a Terraform provider that manages
// Grafana Enterprise Traces tenants, access policies and tokens through the
// GET admin API.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/provider"
)

// version is set by the release build (goreleaser's ldflags).
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	if !debug {
		// Logs no CLI reads cost it and the provider CPU on every request.
		provider.QuietLogsUnlessRead()
	}
	stopProfiling := startProfiling()
	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/tempo-tenancy/tempo",
		Debug:   debug,
	})
	stopProfiling()
	if err != nil {
		log.Fatal(err)
	}
}
