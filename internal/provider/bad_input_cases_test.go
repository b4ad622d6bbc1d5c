package provider

// badInputs are TestAccBadInput's cases, by what they get wrong.
func badInputs() map[string]badInput {
	tenantQuota := `gpu_quota = { limits = { "NVIDIA-H100" = 8, "Default" = 4 }, requests = { "NVIDIA-H100" = 4 } }`
	visionQuota := `gpu_quota = { limits = { "NVIDIA-H100" = 4, "Default" = 2 } }`
	q := func(s string) []string { return []string{visionQuota, "gpu_quota = " + s} }
	tq := func(s string) []string { return []string{tenantQuota, "gpu_quota = " + s} }
	project := func(body string) string {
		return "\nresource \"gpuplane_project\" \"extra\" {\n  tenant = gpuplane_tenant.research.name\n" + body + "\n}\n"
	}
	member := func(body string) string {
		return "\nresource \"gpuplane_tenant_membership\" \"extra\" {\n  tenant = gpuplane_tenant.research.name\n" + body + "\n}\n"
	}
	provider := func(body string) string { return "\nprovider \"gpuplane\" {\n" + body + "\n}\n" }
	return map[string]badInput{
		// Names.
		"name: upper case":             {replace: []string{`name      = "research"`, `name      = "Research"`}, want: []string{`"Research" is not a valid DNS-1123 label`}},
		"name: too long":               {extra: project(`  name = "` + strings64 + `"`), want: []string{"is not a valid DNS-1123 label", "at most 63"}},
		"name: underscore":             {extra: project(`  name = "my_team"`), want: []string{`"my_team" is not a valid DNS-1123 label`}},
		"name: dots in a compute":      {replace: []string{`name          = "h100-pool"`, `name          = "h100.pool"`}, want: []string{`"h100.pool" is not a valid DNS-1123 label`}},
		"name: derived namespace":      {extra: project(`  name = "` + strings64[:60] + `"`), want: []string{"Project namespace name too long", "set namespace explicitly"}},
		"name: two projects, one name": {extra: project("  name = \"vision\"\n  namespace = \"vision-again\""), want: []string{"Duplicate project", `named "vision" in tenant "research"`}},
		// Quotas.
		"quota: a fraction":             {replace: q(`{ limits = { "NVIDIA-H100" = 0.5 } }`), want: []string{`gpu_quota.limits["NVIDIA-H100"] = 0.5: GPU counts are whole numbers`}},
		"quota: negative":               {replace: q(`{ requests = { "NVIDIA-H100" = -1 } }`), want: []string{`gpu_quota.requests["NVIDIA-H100"] = -1`, ">= 0"}},
		"quota: null":                   {replace: q(`{ limits = { "NVIDIA-H100" = null } }`), want: []string{`gpu_quota.limits["NVIDIA-H100"] = null`}},
		"quota: a raw quota key":        {replace: q(`{ limits = { "requests.nvidia.com/gpu-h100" = 1 } }`), want: []string{"not a GPU family", "gpuplane writes requests.<resource> itself"}},
		"quota: an unknown family":      {replace: q(`{ limits = { "NVIDIA-V100" = 1 } }`), want: []string{`names "NVIDIA-V100", which is not a GPU family`, "NVIDIA-A100, NVIDIA-H100"}},
		"quota: lower-case default":     {replace: q(`{ limits = { "default" = 1 } }`), want: []string{`Write "Default", with a capital D`}},
		"quota: requests above limits":  {replace: tq(`{ limits = { "NVIDIA-H100" = 2 }, requests = { "NVIDIA-H100" = 3 } }`), want: []string{"GPU request above limit", `tenant "research", family NVIDIA-H100`}},
		"quota: project above tenant":   {replace: q(`{ limits = { "NVIDIA-H100" = 16 } }`), want: []string{`exceeds tenant "research"'s limit of 8`, "at most 8"}},
		"quota: request above tenant's": {replace: q(`{ limits = { "NVIDIA-H100" = 4 }, requests = { "NVIDIA-H100" = 5 } }`), want: []string{`exceeds tenant "research"'s request cap of 4`}},
		"quota: projects add up":        {extra: project("  name = \"speech\"\n  " + `gpu_quota = { limits = { "NVIDIA-H100" = 6, "Default" = 1 } }`), want: []string{"the projects' limits add up to 10", "above the tenant's limit of 8"}},
		"quota: an inheriting project":  {extra: project(`  name = "speech"`), want: []string{"speech = 8 (inherited)", "set no limit for NVIDIA-H100"}},
		// Families.
		"family: named Default":              {replace: []string{`"NVIDIA-A100" =`, `"Default" =`}, want: []string{"gpu_families", "Default"}},
		"family: resource and class":         {replace: []string{`{ resource_name = "nvidia.com/mig-1g.10gb" }`, `{ resource_name = "nvidia.com/mig-1g.10gb", device_class = "a100.nvidia.com" }`}, want: []string{"resource_name", "device_class"}},
		"family: neither resource nor class": {replace: []string{`{ resource_name = "nvidia.com/mig-1g.10gb" }`, `{ node_selector = { "gpu" = "a100" } }`}, want: []string{"resource_name", "device_class"}},
		"family: resource without domain":    {replace: []string{`"nvidia.com/mig-1g.10gb"`, `"gpu"`}, want: []string{`"gpu" is not a valid extended resource name`, "nvidia.com/gpu"}},
		"family: a quota key as resource":    {replace: []string{`"nvidia.com/mig-1g.10gb"`, `"requests.nvidia.com/gpu"`}, want: []string{"not a quota key such as requests.nvidia.com/gpu"}},
		"family: shared resource, quota":     {replace: []string{`"nvidia.com/mig-1g.10gb"`, `"nvidia.com/gpu-h100"`}, want: []string{"families NVIDIA-A100, NVIDIA-H100 all use the resource nvidia.com/gpu-h100"}},
		"family: a space in its name":        {replace: []string{`"NVIDIA-A100" =`, `"NVIDIA A100" =`}, want: []string{"must be 1-63 letters, digits"}},
		"family: bad device class":           {replace: []string{`{ resource_name = "nvidia.com/mig-1g.10gb" }`, `{ device_class = "Bad_Class" }`}, want: []string{`"Bad_Class" is not a valid DNS-1123 subdomain`}},
		// Quota backend.
		"backend: unknown": {replace: []string{"  name = \"main\"\n  gpu_families", "  name = \"main\"\n  quota_backend = \"volcano\"\n  gpu_families"},
			want: []string{"quota_backend", `"resource-quota"`, `"kueue"`}},
		"backend: service account without namespace": {replace: []string{"  name = \"main\"\n  gpu_families", "  name = \"main\"\n  kueue_service_account = \"kueue\"\n  gpu_families"},
			want: []string{"kueue_service_account", "must be namespace/name"}},
		"backend: flavor names collide": {replace: []string{"  name = \"main\"\n  gpu_families = {\n    \"NVIDIA-H100\" = { resource_name = \"nvidia.com/gpu-h100\" }",
			"  name = \"main\"\n  quota_backend = \"kueue\"\n  gpu_families = {\n    \"NVIDIA-H100\" = { resource_name = \"nvidia.com/gpu-h100\" }\n    \"nvidia_h100\" = { resource_name = \"nvidia.com/gpu-h100\" }"},
			want: []string{`would both become the Kueue ResourceFlavor "gpuplane-nvidia-h100"`}},
		"backend: families not told apart": {replace: []string{"  name = \"main\"\n  gpu_families = {\n    \"NVIDIA-H100\" = { resource_name = \"nvidia.com/gpu-h100\" }\n    \"NVIDIA-A100\" = { resource_name = \"nvidia.com/mig-1g.10gb\" }",
			"  name = \"main\"\n  quota_backend = \"kueue\"\n  gpu_families = {\n    \"NVIDIA-H100\" = { resource_name = \"nvidia.com/gpu\" }\n    \"NVIDIA-A100\" = { resource_name = \"nvidia.com/gpu\", node_selector = { \"pool\" = \"a100\" } }"},
			want: []string{`Families "NVIDIA-A100" and "NVIDIA-H100" share the resource nvidia.com/gpu`, "do not exclude each other"}},
		// Namespaces.
		"namespace: kube-system":            {extra: project("  name = \"sys\"\n  namespace = \"kube-system\""), want: []string{"System namespace", `"kube-system"`}},
		"namespace: default":                {extra: project("  name = \"def\"\n  namespace = \"default\""), want: []string{"System namespace", `"default"`}},
		"namespace: a tenant called kube-x": {extra: "\nresource \"gpuplane_tenant\" \"sys\" {\n  dataplane = gpuplane_dataplane.main.name\n  name = \"kube-x\"\n}\n", want: []string{"System namespace", `tenant "kube-x"`}},
		"namespace: a tenant's":             {extra: project("  name = \"grab\"\n  namespace = \"other\""), want: []string{`namespace "other"`}},
		"namespace: made by hand":           {extra: project("  name = \"adopt\"\n  namespace = \"made-by-hand\""), want: []string{`namespace "made-by-hand" already exists and was not created by gpuplane`}},
		"namespace: another project's":      {extra: project("  name = \"grab\"\n  namespace = \"other-team\""), want: []string{`namespace "other-team"`}},
		// Labels.
		"labels: managed-by":        {replace: []string{`{ "cost-center" = "r-42" }`, `{ "app.kubernetes.io/managed-by" = "me" }`}, want: []string{"Reserved label key"}},
		"labels: gpuplane's domain": {replace: []string{`{ "cost-center" = "r-42" }`, `{ "tenancy.gpuplane.dev/membership" = "x" }`}, want: []string{"Reserved label key", "tenancy.gpuplane.dev"}},
		"labels: bad key":           {replace: []string{`{ "cost-center" = "r-42" }`, `{ "bad key!" = "x" }`}, want: []string{`"bad key!" is not a valid label key`}},
		"labels: bad value":         {replace: []string{`{ "cost-center" = "r-42" }`, `{ "cost-center" = "` + strings64 + `" }`}, want: []string{"is not a valid label value"}},
		// Memberships.
		"membership: another tenant's project": {extra: member("  subject = { kind = \"User\", name = \"bob\" }\n  role = \"viewer\"\n  projects = [\"team\"]"), want: []string{`projects[0] = "team" belongs to tenant "other"`}},
		"membership: no such project":          {extra: member("  subject = { kind = \"User\", name = \"bob\" }\n  role = \"viewer\"\n  projects = [\"nope\"]"), want: []string{`projects[0] = "nope" is not a project of tenant "research"`}},
		"membership: group with a namespace":   {extra: member("  subject = { kind = \"Group\", name = \"g\", namespace = \"x\" }\n  role = \"viewer\""), want: []string{"Group subjects are cluster-wide"}},
		"membership: service account without":  {extra: member("  subject = { kind = \"ServiceAccount\", name = \"ci\" }\n  role = \"viewer\""), want: []string{"needs subject.namespace"}},
		"membership: unknown role":             {extra: member("  subject = { kind = \"User\", name = \"bob\" }\n  role = \"owner\""), want: []string{"role", "value must be one of"}},
		"membership: a subject twice":          {extra: member("  subject = { kind = \"User\", name = \"alice@example.com\" }\n  role = \"viewer\""), want: []string{`User "alice@example.com" already has membership`}},
		// Computes and selectors.
		"compute: unknown family":   {replace: []string{`gpu_family    = "NVIDIA-H100"`, `gpu_family    = "NVIDIA-V100"`}, want: []string{`gpu_family = "NVIDIA-V100" is not a GPU family`}},
		"compute: not the tenant's": {extra: project("  name = \"placed\"\n  compute = \"a100-pool\""), want: []string{`compute = "a100-pool"`, "computes are [h100-pool]"}},
		"compute: no such compute":  {replace: []string{`computes  = [gpuplane_compute.h100.name]`, `computes  = ["nope"]`}, want: []string{`compute "nope" does not exist`}},
		"selector: empty":           {replace: []string{`node_selector = { "pool" = "h100" }`, `node_selector = {}`}, want: []string{"node_selector", "at least 1"}},
		"selector: bad key":         {replace: []string{`node_selector = { "pool" = "h100" }`, `node_selector = { "pool!" = "h100" }`}, want: []string{`"pool!" is not a valid label key`}},
		// The provider's own configuration.
		"provider: path and paths":       {extra: provider("  config_path = \"a\"\n  config_paths = [\"b\"]"), want: []string{"Conflicting configuration", "config_path or config_paths"}},
		"provider: in-cluster and host":  {extra: provider("  in_cluster = true\n  host = \"https://127.0.0.1:1\""), want: []string{"Conflicting configuration", "in_cluster = true"}},
		"provider: exec without version": {extra: provider("  host = \"https://127.0.0.1:1\"\n  exec {\n    command = \"x\"\n  }"), want: []string{"Missing exec api_version"}},
		"provider: qps of zero":          {extra: provider("  qps = 0"), want: []string{"qps", "at least 1"}},
		"provider: bad timeout":          {extra: provider("  request_timeout = \"5 minutes\""), want: []string{`"5 minutes" is not a positive Go duration`}},
	}
}

// strings64 is 64 characters: one too many for a name or a label value.
const strings64 = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"
