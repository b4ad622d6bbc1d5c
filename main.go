// Command terraform-provider-gpuplane is the gpuplane Terraform provider.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime/pprof"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/provider"
)

// version is set by the release build (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()
	silenceUnreadLogs(os.LookupEnv, os.Setenv)

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

	var opts []tf6server.ServeOpt
	if debug {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	err := tf6server.Serve("registry.terraform.io/gpuplane/gpuplane", provider.NewServer(version), opts...)
	if err != nil {
		log.Print(err.Error())
		os.Exit(1) //nolint:gocritic // the profile is not needed after a failure
	}
}

// sdkLogLevels are the variables that set the levels of the plugin SDK's
// own logs (terraform-plugin-go, terraform-plugin-framework).
var sdkLogLevels = []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK"}

// silenceUnreadLogs turns the SDK's logs off when Terraform will not show
// them. Terraform (and OpenTofu) show a provider's logs only when TF_LOG or
// TF_LOG_PROVIDER is set, and the provider inherits both; without them the
// SDK still formats a trace record per request and attribute in JSON, which
// Terraform parses and drops: a fifth of the provider's CPU in a plan of
// 300 projects (bench/results.md). A level set for the SDK is kept.
func silenceUnreadLogs(lookup func(string) (string, bool), set func(string, string) error) {
	for _, v := range []string{"TF_LOG", "TF_LOG_PROVIDER"} {
		if level, ok := lookup(v); ok && level != "" {
			return
		}
	}
	for _, v := range sdkLogLevels {
		if _, ok := lookup(v); !ok {
			_ = set(v, "off")
		}
	}
}
