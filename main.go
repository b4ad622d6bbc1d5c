// Command terraform-provider-gpuplane is the gpuplane Terraform provider.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime/pprof"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/provider"
)

// version is set by the release build (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	// GPUPLANE_CPU_PROFILE_DIR: write a CPU profile of this provider process
	// there (cpu-<pid>.pprof), for `go tool pprof` (see bench/results.md).
	if dir := os.Getenv("GPUPLANE_CPU_PROFILE_DIR"); dir != "" {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("cpu-%d.pprof", os.Getpid())))
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			log.Fatalf("GPUPLANE_CPU_PROFILE_DIR: %v", err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address:         "registry.terraform.io/gpuplane/gpuplane",
		Debug:           debug,
		ProtocolVersion: 6,
	})
	if err != nil {
		log.Print(err.Error())
		os.Exit(1) //nolint:gocritic // the profile is not needed after a failure
	}
}
