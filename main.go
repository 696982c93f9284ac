// Command terraform-provider-tempo is a Terraform provider that manages
// Grafana Enterprise Traces tenants, access policies and tokens through the
// GET admin API.
package main

import (
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

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
	// providerserver.Serve, with the provider's own server around the
	// framework's (provider.Protocol6).
	var opts []tf6server.ServeOpt
	if debug {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	err := tf6server.Serve("registry.terraform.io/tempo-tenancy/tempo", provider.Protocol6(provider.New(version)), opts...)
	stopProfiling()
	if err != nil {
		log.Fatal(err)
	}
}
