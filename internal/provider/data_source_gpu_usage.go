package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

var _ datasource.DataSourceWithConfigure = (*gpuUsageDataSource)(nil)

// NewGPUUsageDataSource returns the gpuplane_gpu_usage data source.
func NewGPUUsageDataSource() datasource.DataSource { return &gpuUsageDataSource{} }

type gpuUsageDataSource struct{ p *providerData }

type gpuUsageModel struct {
	ID             types.String `tfsdk:"id"`
	Tenant         types.String `tfsdk:"tenant"`
	Project        types.String `tfsdk:"project"`
	Families       types.Map    `tfsdk:"families"`
	Oversubscribed types.Bool   `tfsdk:"oversubscribed"`
	Projects       types.Map    `tfsdk:"projects"`
	Tenants        types.Map    `tfsdk:"tenants"`
	Unattributed   types.Map    `tfsdk:"unattributed"`
}

var familyUsageAttrTypes = map[string]attr.Type{
	"used": types.Int64Type, "limit": types.Int64Type, "available": types.Int64Type,
	"capacity": types.Int64Type, "oversubscribed": types.BoolType,
}

var familyUsageType = types.ObjectType{AttrTypes: familyUsageAttrTypes}

func (d *gpuUsageDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_gpu_usage"
}

func (d *gpuUsageDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	familyUsage := schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
		"used":           schema.Int64Attribute{Computed: true, MarkdownDescription: "GPUs requested by non-terminal pods (Pending or Running)."},
		"limit":          schema.Int64Attribute{Computed: true, MarkdownDescription: "Effective limit of the scope (for the dataplane: its capacity); null when unlimited."},
		"available":      schema.Int64Attribute{Computed: true, MarkdownDescription: "`limit - used`, at least 0; null when unlimited."},
		"capacity":       schema.Int64Attribute{Computed: true, MarkdownDescription: "Allocatable GPUs of the family on the dataplane's nodes."},
		"oversubscribed": schema.BoolAttribute{Computed: true, MarkdownDescription: "`used > limit` (e.g. after a limit was lowered below usage)."},
	}}
	breakdown := func(desc string) schema.MapAttribute {
		return schema.MapAttribute{Computed: true, MarkdownDescription: desc, ElementType: types.MapType{ElemType: familyUsageType}}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "GPU usage per family, read from the cluster: for a project (`project`), a tenant (`tenant`, " +
			"with a breakdown per project) or the whole dataplane (neither, with a breakdown per tenant). Used GPUs are " +
			"the requests of non-terminal pods, attributed to a family by resource name (by node labels where families " +
			"share one); what cannot be attributed is reported in `unattributed`. Read with paginated LIST calls.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The scope: `<tenant>/<project>`, `<tenant>`, or `dataplane`."},
			"tenant": schema.StringAttribute{Optional: true, MarkdownDescription: "A tenant's name.",
				Validators: []validator.String{dnsLabel(), stringvalidator.ConflictsWith(path.MatchRoot("project"))}},
			"project": schema.StringAttribute{Optional: true, MarkdownDescription: "A project, as `<tenant>/<project>` (or `<tenant>:<project>`).",
				Validators: []validator.String{qualifiedName()}},
			"families": schema.MapNestedAttribute{Computed: true, NestedObject: familyUsage,
				MarkdownDescription: "Usage of the scope per family."},
			"oversubscribed": schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether any family of the scope is oversubscribed."},
			"projects":       breakdown("Tenant scope: usage per project and family, against each project's effective quota."),
			"tenants":        breakdown("Dataplane scope: usage per tenant and family, against each tenant's effective quota."),
			"unattributed": schema.MapAttribute{Computed: true, ElementType: types.Int64Type,
				MarkdownDescription: "GPUs in the scope that could not be attributed to a family, per resource name."},
		},
	}
}

func (d *gpuUsageDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.p = configureData(req.ProviderData, &resp.Diagnostics)
}

func (d *gpuUsageDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m gpuUsageModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := d.p.clientOrError(&resp.Diagnostics)
	if c == nil {
		return
	}
	scope := usageScope{Tenant: m.Tenant.ValueString()}
	if !m.Project.IsNull() {
		scope.Tenant, scope.Project, _ = splitQualified(m.Project.ValueString())
	}
	r, err := d.p.readGPUUsage(ctx, c, scope)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read GPU usage", err.Error())
		return
	}
	m.ID = types.StringValue(scope.id())
	m.Families = familyUsageMap(r.Families)
	m.Oversubscribed = types.BoolValue(oversubscribed(r.Families))
	m.Projects = breakdownMap(r.Projects)
	m.Tenants = breakdownMap(r.Tenants)
	m.Unattributed = types.MapValueMust(types.Int64Type, int64Values(r.Unattributed))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// usageScope is a project (Tenant and Project), a tenant, or the dataplane (neither).
type usageScope struct{ Tenant, Project string }

func (s usageScope) id() string {
	switch {
	case s.Project != "":
		return s.Tenant + "/" + s.Project
	case s.Tenant != "":
		return s.Tenant
	}
	return "dataplane"
}

// familyUsage is the usage of one family in one scope.
type familyUsage struct {
	Used, Capacity int64
	Limit          quota.Value
}

type usageReport struct {
	Families     map[string]familyUsage
	Projects     map[string]map[string]familyUsage
	Tenants      map[string]map[string]familyUsage
	Unattributed map[string]int64
}

// readGPUUsage reads a scope's usage with label-selected, paginated LISTs:
// the dataplane, the nodes, the scope's tenants and projects, and the
// non-terminal pods (of one namespace, or of the cluster).
func (d *providerData) readGPUUsage(ctx context.Context, c *kube.Client, s usageScope) (*usageReport, error) {
	dps, err := c.List(ctx, crds.Dataplanes, "", "")
	if err != nil || len(dps) == 0 {
		return nil, fmt.Errorf("no gpuplane dataplane on this cluster (create a gpuplane_dataplane first): %v", err)
	}
	var dspec crds.DataplaneSpec
	if err := crds.SpecOf(&dps[0], &dspec); err != nil {
		return nil, err
	}
	cat := catalogFromSpec(dspec)
	families := cat.Names()
	nodes, err := listNodes(ctx, c)
	if err != nil {
		return nil, err
	}
	capacity := map[string]int64{}
	nodeLabels := map[string]map[string]string{}
	for _, n := range nodes {
		nodeLabels[n.Name] = n.Labels
	}
	for _, f := range families {
		if cat[f].ResourceName != "" {
			capacity[f] = gpuCapacity(nodes, cat[f].ResourceName, cat[f].NodeSelector)
		}
	}

	// Tenants and projects of the scope: tenant → effective quota, project → namespace and effective quota.
	tenants := map[string]quota.Scope{}
	type projectInfo struct {
		tenant, name, namespace string
		eff                     quota.Scope
	}
	var projects []projectInfo
	if s.Tenant != "" {
		t, found, err := d.tenant(ctx, c, s.Tenant, false)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("tenant %q does not exist", s.Tenant)
		}
		tenants[s.Tenant] = t.Effective()
	} else {
		items, err := c.List(ctx, crds.Tenants, "", "")
		if err != nil {
			return nil, err
		}
		for i := range items {
			var spec crds.TenantSpec
			if err := crds.SpecOf(&items[i], &spec); err != nil {
				return nil, err
			}
			tenants[items[i].GetName()] = quota.TenantEffective(quotaFromCRD(spec.GPUQuota), families)
		}
	}
	selector := ""
	if s.Tenant != "" {
		selector = kube.LabelTenant + "=" + s.Tenant
	}
	items, err := c.List(ctx, crds.Projects, "", selector)
	if err != nil {
		return nil, err
	}
	for i := range items {
		var spec crds.ProjectSpec
		if err := crds.SpecOf(&items[i], &spec); err != nil {
			return nil, err
		}
		if s.Project != "" && spec.Project != s.Project {
			continue
		}
		teff, ok := tenants[spec.Tenant]
		if !ok {
			continue
		}
		projects = append(projects, projectInfo{spec.Tenant, spec.Project, items[i].GetNamespace(),
			quota.ProjectEffective(teff, quotaFromCRD(spec.GPUQuota), families)})
	}
	if s.Project != "" && len(projects) == 0 {
		return nil, fmt.Errorf("project %q does not exist in tenant %q", s.Project, s.Tenant)
	}

	// Pods: one namespace's for a project, else the cluster's (one paginated LIST).
	podNamespace := ""
	if s.Project != "" {
		podNamespace = projects[0].namespace
	}
	pods, err := listActivePodGPUs(ctx, c, podNamespace)
	if err != nil {
		return nil, err
	}
	usage := quota.AttributeUsage(pods, cat, nodeLabels)

	report := &usageReport{Unattributed: map[string]int64{}}
	scopeNamespaces := map[string]bool{}
	perTenantNamespaces := map[string][]string{}
	for _, p := range projects {
		scopeNamespaces[p.namespace] = true
		perTenantNamespaces[p.tenant] = append(perTenantNamespaces[p.tenant], p.namespace)
	}
	for t := range tenants {
		// GPU pods in a tenant namespace are refused by its zero quota, but count them if any.
		scopeNamespaces[t] = true
		perTenantNamespaces[t] = append(perTenantNamespaces[t], t)
	}
	switch {
	case s.Project != "":
		p := projects[0]
		report.Families = familyUsages(usage.Sum(p.namespace), p.eff, capacity, families)
		d.crossCheckQuota(ctx, c, p.namespace, cat, usage.Sum(p.namespace))
	case s.Tenant != "":
		report.Families = familyUsages(usage.Sum(perTenantNamespaces[s.Tenant]...), tenants[s.Tenant], capacity, families)
		report.Projects = map[string]map[string]familyUsage{}
		for _, p := range projects {
			report.Projects[p.name] = familyUsages(usage.Sum(p.namespace), p.eff, capacity, families)
		}
	default:
		capScope := quota.Scope{}
		for _, f := range families {
			v := quota.Value{Unlimited: true, Source: quota.SourceUnlimited}
			if n, ok := capacity[f]; ok {
				v = quota.Value{N: n}
			}
			capScope[f] = quota.Effective{Limit: v, Request: v}
		}
		report.Families = familyUsages(usage.Sum(slices.Collect(maps.Keys(usage.ByNamespace))...), capScope, capacity, families)
		report.Tenants = map[string]map[string]familyUsage{}
		for t, eff := range tenants {
			report.Tenants[t] = familyUsages(usage.Sum(perTenantNamespaces[t]...), eff, capacity, families)
		}
	}
	if s.Project == "" && s.Tenant == "" {
		report.Unattributed = usage.Unattributed
	} else {
		// Unattributed use of the scope's own namespaces only.
		scoped := make([]quota.PodGPUs, 0, len(pods))
		for _, p := range pods {
			if scopeNamespaces[p.Namespace] {
				scoped = append(scoped, p)
			}
		}
		report.Unattributed = quota.AttributeUsage(scoped, cat, nodeLabels).Unattributed
	}
	return report, nil
}

// listActivePodGPUs lists the non-terminal pods (phase not Succeeded or
// Failed, filtered by the API server) and what each asks for.
func listActivePodGPUs(ctx context.Context, c *kube.Client, namespace string) ([]quota.PodGPUs, error) {
	var out []quota.PodGPUs
	opts := metav1.ListOptions{Limit: 500, FieldSelector: "status.phase!=Succeeded,status.phase!=Failed"}
	for {
		var page *corev1.PodList
		err := kube.Retry(ctx, func(ctx context.Context) error {
			var err error
			page, err = c.Typed.CoreV1().Pods(namespace).List(ctx, opts)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("listing pods: %w", err)
		}
		for i := range page.Items {
			p := &page.Items[i]
			out = append(out, quota.PodGPUs{Namespace: p.Namespace, Node: p.Spec.NodeName, NodeSelector: p.Spec.NodeSelector,
				Resources: podRequests(p)})
		}
		if page.Continue == "" {
			return out, nil
		}
		opts.Continue = page.Continue
	}
}

// podRequests is a pod's effective request per resource: the sum over its
// containers, or the largest init container when that is larger. For
// extended resources a limit alone stands for the request.
func podRequests(p *corev1.Pod) map[string]int64 {
	out := map[string]int64{}
	get := func(c corev1.Container) corev1.ResourceList {
		if len(c.Resources.Requests) > 0 {
			merged := c.Resources.Limits.DeepCopy()
			if merged == nil {
				merged = corev1.ResourceList{}
			}
			for k, v := range c.Resources.Requests {
				merged[k] = v
			}
			return merged
		}
		return c.Resources.Limits
	}
	for _, c := range p.Spec.Containers {
		for k, q := range get(c) {
			out[string(k)] += q.Value()
		}
	}
	for _, c := range p.Spec.InitContainers {
		for k, q := range get(c) {
			if q.Value() > out[string(k)] {
				out[string(k)] = q.Value()
			}
		}
	}
	return out
}

// crossCheckQuota compares the pods' usage with the ResourceQuota's
// status.used, which the API server counts at admission; a difference is
// logged (the quota's status lags behind for a few seconds).
func (d *providerData) crossCheckQuota(ctx context.Context, c *kube.Client, namespace string, cat quota.Catalog, used map[string]int64) {
	rq, err := getResourceQuota(ctx, c, namespace)
	if err != nil || rq == nil {
		return
	}
	fromQuota := quotaUsed(rq)
	for f, n := range used {
		if q, ok := fromQuota[cat[f].QuotaKey()]; ok && q != n {
			tflog.Warn(ctx, "GPU usage from pods differs from the ResourceQuota's status.used",
				map[string]any{"namespace": namespace, "family": f, "pods": n, "quota": q})
		}
	}
}

func familyUsages(used map[string]int64, eff quota.Scope, capacity map[string]int64, families []string) map[string]familyUsage {
	out := map[string]familyUsage{}
	for _, f := range families {
		out[f] = familyUsage{Used: used[f], Capacity: capacity[f], Limit: eff[f].Limit}
	}
	return out
}

func oversubscribed(m map[string]familyUsage) bool {
	for _, u := range m {
		if u.Limit.Finite() && u.Used > u.Limit.N {
			return true
		}
	}
	return false
}

func familyUsageMap(m map[string]familyUsage) types.Map {
	els := map[string]attr.Value{}
	for f, u := range m {
		limit, available := types.Int64Null(), types.Int64Null()
		if u.Limit.Finite() {
			limit, available = types.Int64Value(u.Limit.N), types.Int64Value(max(u.Limit.N-u.Used, 0))
		}
		els[f] = types.ObjectValueMust(familyUsageAttrTypes, map[string]attr.Value{
			"used": types.Int64Value(u.Used), "limit": limit, "available": available,
			"capacity": types.Int64Value(u.Capacity), "oversubscribed": types.BoolValue(u.Limit.Finite() && u.Used > u.Limit.N),
		})
	}
	return types.MapValueMust(familyUsageType, els)
}

func breakdownMap(m map[string]map[string]familyUsage) types.Map {
	t := types.MapType{ElemType: familyUsageType}
	if m == nil {
		return types.MapNull(t)
	}
	els := map[string]attr.Value{}
	for k, v := range m {
		els[k] = familyUsageMap(v)
	}
	return types.MapValueMust(t, els)
}

func int64Values(m map[string]int64) map[string]attr.Value {
	out := map[string]attr.Value{}
	for k, v := range m {
		out[k] = types.Int64Value(v)
	}
	return out
}
