package provider

import (
	"context"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/list"
	listschema "github.com/hashicorp/terraform-plugin-framework/list/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
)

// List resources (Terraform 1.14+ `terraform query`): find the tenants and
// projects a cluster holds, by identity, so that `terraform query
// -generate-config-out` writes the import blocks and configuration of a
// brownfield platform. Each result is a resource's identity and, when
// asked, the resource as its Read fills it.

var (
	_ list.ListResourceWithConfigure = (*tenantResource)(nil)
	_ list.ListResourceWithConfigure = (*projectResource)(nil)
)

// NewTenantListResource returns the gpuplane_tenant list resource.
func NewTenantListResource() list.ListResource { return &tenantResource{} }

// NewProjectListResource returns the gpuplane_project list resource.
func NewProjectListResource() list.ListResource { return &projectResource{} }

func (r *tenantResource) ListResourceConfigSchema(_ context.Context, _ list.ListResourceSchemaRequest, resp *list.ListResourceSchemaResponse) {
	resp.Schema = listschema.Schema{MarkdownDescription: "Every tenant on the cluster's dataplane."}
}

// listClient is the client a List reads with; nil (with diags saying
// why) when there is none: a list needs a provider configuration known now.
func listClient(d *providerData, diags *diag.Diagnostics) *kube.Client {
	c := d.readClient(diags)
	if c == nil && !diags.HasError() {
		diags.AddError("Provider not configured", "Listing needs the gpuplane provider's configuration (a cluster to read), "+
			"known when the query runs.")
	}
	return c
}

func (r *tenantResource) List(ctx context.Context, req list.ListRequest, stream *list.ListResultsStream) {
	var diags diag.Diagnostics
	c := listClient(r.p, &diags)
	if c == nil {
		stream.Results = list.ListResultsStreamDiagnostics(diags)
		return
	}
	tenants, err := platform.ListTenants(ctx, c)
	if err != nil {
		diags.AddError("Cannot list tenants", err.Error())
		stream.Results = list.ListResultsStreamDiagnostics(diags)
		return
	}
	names := make([]string, 0, len(tenants))
	for _, t := range tenants {
		names = append(names, t.Name)
	}
	sort.Strings(names)
	stream.Results = listResults(ctx, req, tenantIdentity, names, func(ctx context.Context, parts []string, res *tfsdk.Resource) diag.Diagnostics {
		var m tenantModel
		diags := res.Get(ctx, &m)
		_, d := r.p.readTenant(ctx, c, parts[0], &m)
		diags.Append(d...)
		m.DeletionProtection = types.BoolValue(true) // as an import sets it
		return append(diags, res.Set(ctx, &m)...)
	})
}

type projectListModel struct {
	Tenant types.String `tfsdk:"tenant"`
}

func (r *projectResource) ListResourceConfigSchema(_ context.Context, _ list.ListResourceSchemaRequest, resp *list.ListResourceSchemaResponse) {
	resp.Schema = listschema.Schema{
		MarkdownDescription: "The projects on the cluster's dataplane, of one tenant or of all.",
		Attributes: map[string]listschema.Attribute{
			"tenant": listschema.StringAttribute{Optional: true, MarkdownDescription: "Only this tenant's projects.",
				Validators: []validator.String{dnsLabel()}},
		},
	}
}

func (r *projectResource) List(ctx context.Context, req list.ListRequest, stream *list.ListResultsStream) {
	var cfg projectListModel
	diags := req.Config.Get(ctx, &cfg)
	c := listClient(r.p, &diags)
	if c == nil {
		stream.Results = list.ListResultsStreamDiagnostics(diags)
		return
	}
	ids, namespaces, err := listProjects(ctx, c, cfg.Tenant.ValueString())
	if err != nil {
		diags.AddError("Cannot list projects", err.Error())
		stream.Results = list.ListResultsStreamDiagnostics(diags)
		return
	}
	stream.Results = listResults(ctx, req, projectIdentity, ids, func(ctx context.Context, parts []string, res *tfsdk.Resource) diag.Diagnostics {
		var m projectModel
		diags := res.Get(ctx, &m)
		_, d := r.p.readProject(ctx, c, parts[0], parts[1], namespaces[parts[0]+"/"+parts[1]], &m)
		diags.Append(d...)
		m.DeletionProtection = types.BoolValue(true) // as an import sets it
		return append(diags, res.Set(ctx, &m)...)
	})
}

// listProjects are the "<tenant>/<name>" of the projects of tenant (of all
// tenants when empty), sorted, with their namespaces.
func listProjects(ctx context.Context, c *kube.Client, tenant string) (ids []string, namespaces map[string]string, err error) {
	tenants := []string{tenant}
	if tenant == "" {
		all, err := platform.ListTenants(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		tenants = tenants[:0]
		for _, t := range all {
			tenants = append(tenants, t.Name)
		}
	}
	namespaces = map[string]string{}
	for _, t := range tenants {
		projects, err := platform.ListProjects(ctx, c, t)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range projects {
			id := p.Tenant + "/" + p.Name
			ids = append(ids, id)
			namespaces[id] = p.Namespace
		}
	}
	sort.Strings(ids)
	return ids, namespaces, nil
}

// listResults streams one result per ID ("<tenant>/<name>", or "<name>"):
// its identity, its ID as display name and, when the request asks for the
// resource, what read fills in (from a resource whose identity attributes
// and id are set, as after an import). At most req.Limit results.
func listResults(ctx context.Context, req list.ListRequest, id identity, ids []string,
	read func(context.Context, []string, *tfsdk.Resource) diag.Diagnostics) func(func(list.ListResult) bool) {
	split := splitName
	if len(id) == 2 {
		split = splitTenantScoped
	}
	return func(push func(list.ListResult) bool) {
		for i, s := range ids {
			if req.Limit > 0 && int64(i) >= req.Limit {
				return
			}
			parts, _ := split(s)
			result := req.NewListResult(ctx)
			result.DisplayName = s
			for j, a := range id {
				result.Diagnostics.Append(result.Identity.SetAttribute(ctx, path.Root(a.name), parts[j])...)
				if req.IncludeResource {
					result.Diagnostics.Append(result.Resource.SetAttribute(ctx, path.Root(a.name), parts[j])...)
				}
			}
			if req.IncludeResource && !result.Diagnostics.HasError() {
				result.Diagnostics.Append(result.Resource.SetAttribute(ctx, path.Root("id"), s)...)
				result.Diagnostics.Append(read(ctx, parts, result.Resource)...)
			}
			if !push(result) {
				return
			}
		}
	}
}
