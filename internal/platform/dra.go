package platform

import (
	"context"
	"regexp"
	"strconv"
	"strings"

	admv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	admv1ac "k8s.io/client-go/applyconfigurations/admissionregistration/v1"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// DRA families (device_class). The project's ResourceQuota caps the total
// (<class>.deviceclass.resource.k8s.io/devices, counted by the API server
// from ResourceClaims); the gpuplane-dra-claims policy caps one claim (the
// largest single workload) and refuses claims for device classes outside
// the catalog in project namespaces, so a generic class cannot dodge the
// family quotas. Devices are counted as the API server's quota counts them:
// an exact count as asked; allocationMode All as the most a claim can get
// (resourcev1.AllocationResultsMaxSize); of a request's prioritized
// alternatives (firstAvailable), the largest per class.

// DRAParamsOf are the claims policy's parameters of a project.
func DRAParamsOf(cat quota.Catalog, eff quota.Scope) *crds.DRAParams {
	p := &crds.DRAParams{Classes: cat.DeviceClasses(), MaxPerClaim: quota.ClaimMax(eff, cat)}
	if p.Classes == nil {
		p.Classes = []string{}
	}
	return p
}

// claimDevices is, for a request's device alternatives x, the CEL count of
// devices of class c: AllocationResultsMaxSize for allocationMode All.
const claimDevices = `(x.deviceClassName != c ? 0 : x.?allocationMode.orValue('ExactCount') == 'All' ? ` +
	`ALLMAX : x.?count.orValue(1))`

// claimWithinCaps is the CEL condition that the claim spec at spec asks,
// per capped class, for at most the class's cap, and names only catalog classes.
func claimWithinCaps(spec string) string {
	count := strings.ReplaceAll(claimDevices, "ALLMAX", strconv.Itoa(resourcev1.AllocationResultsMaxSize))
	return `params.spec.?dra.?maxPerClaim.orValue({}).all(c,
  ` + spec + `.?devices.?requests.orValue([]).map(r,
    has(r.exactly) ? [r.exactly].map(x, ` + count + `).sum() :
    r.?firstAvailable.orValue([]).map(x, ` + count + `).max()).sum() <= params.spec.dra.maxPerClaim[c])`
}

// claimClassesKnown is the CEL condition that the claim spec at spec
// names only the catalog's device classes.
func claimClassesKnown(spec string) string {
	return spec + `.?devices.?requests.orValue([]).all(r,
  (has(r.exactly) ? [r.exactly] : r.?firstAvailable.orValue([])).all(x, x.deviceClassName in params.spec.dra.classes))`
}

func claimPolicy(name, resource, spec, what string) podPolicy {
	return podPolicy{
		name:      name,
		paramKind: "Project",
		rule: admv1ac.NamedRuleWithOperations().WithOperations(admv1.Create).
			WithAPIGroups(resourcev1.GroupName).WithAPIVersions("v1").WithResources(resource),
		validations: []policyValidation{{
			expression: `!has(params.spec.dra) || ` + claimClassesKnown(spec),
			message: `'this ` + what + ` asks for a device class outside the GPU catalog; in gpuplane project ' + ` + projectName + ` +
  ' claims may name only the dataplane\'s device classes (' + params.spec.dra.classes.join(', ') +
  '), so no class escapes the family quotas: add the class to the dataplane\'s gpu_families'`,
		}, {
			expression: `!has(params.spec.dra) || ` + claimWithinCaps(spec),
			message: `'this ` + what + ` asks for more devices of one family than the largest workload allowed in gpuplane project ' + ` +
				projectName + ` + ' (gpu_quota.requests): ' +
  params.spec.dra.maxPerClaim.map(c, c + ' at most ' + string(params.spec.dra.maxPerClaim[c])).join(', ')`,
		}},
	}
}

var (
	claimsPolicy         = claimPolicy("gpuplane-dra-claims", "resourceclaims", "object.spec", "ResourceClaim")
	claimTemplatesPolicy = claimPolicy("gpuplane-dra-claim-templates", "resourceclaimtemplates", "object.spec.spec", "ResourceClaimTemplate")
)

// ClaimDevices counts the devices a claim asks for, per device class, as
// the API server's quota does (see above).
func ClaimDevices(spec resourcev1.ResourceClaimSpec) map[string]int64 {
	out := map[string]int64{}
	count := func(mode resourcev1.DeviceAllocationMode, n int64) int64 {
		switch mode {
		case resourcev1.DeviceAllocationModeAll:
			return resourcev1.AllocationResultsMaxSize
		case resourcev1.DeviceAllocationModeExactCount, "":
			return max(n, 1)
		}
		return 0
	}
	for _, r := range spec.Devices.Requests {
		switch {
		case len(r.FirstAvailable) > 0:
			worst := map[string]int64{}
			for _, sr := range r.FirstAvailable {
				worst[sr.DeviceClassName] = max(worst[sr.DeviceClassName], count(sr.AllocationMode, sr.Count))
			}
			for c, n := range worst {
				out[c] += n
			}
		case r.Exactly != nil:
			out[r.Exactly.DeviceClassName] += count(r.Exactly.AllocationMode, r.Exactly.Count)
		}
	}
	return out
}

// claimUsage counts the devices of the catalog's DRA families asked for by
// the ResourceClaims of namespace ("" for all), by namespace and family.
func claimUsage(ctx context.Context, c *kube.Client, cat quota.Catalog, namespace string) (map[string]map[string]int64, error) {
	byClass := map[string]string{}
	for _, f := range cat.Names() {
		if dc := cat[f].DeviceClass; dc != "" {
			byClass[dc] = f
		}
	}
	out := map[string]map[string]int64{}
	if len(byClass) == 0 {
		return out, nil
	}
	opts := metav1.ListOptions{Limit: 500}
	for {
		var page *resourcev1.ResourceClaimList
		err := kube.Retry(ctx, func(ctx context.Context) error {
			var err error
			page, err = c.Typed.ResourceV1().ResourceClaims(namespace).List(ctx, opts)
			return err
		})
		if apierrors.IsNotFound(err) {
			return out, nil // DRA is not served
		}
		if err != nil {
			return nil, kube.Explain(err)
		}
		for _, claim := range page.Items {
			for class, n := range ClaimDevices(claim.Spec) {
				if f, ok := byClass[class]; ok {
					add(out, claim.Namespace, f, n)
				}
			}
		}
		if page.Continue == "" {
			return out, nil
		}
		opts.Continue = page.Continue
	}
}

// driverSelector matches a DeviceClass selector that selects by driver alone.
var driverSelector = regexp.MustCompile(`^\s*device\.driver\s*==\s*["']([^"']+)["']\s*$`)

// DRACapacity counts, per DRA family, the devices in ResourceSlices of the
// driver its device class selects, on nodes that match the family's node
// selector. Only classes with exactly one selector of the form
// device.driver == "<driver>" are counted; slices that are not local to a
// node count only for families without a node selector.
func DRACapacity(ctx context.Context, c *kube.Client, cat quota.Catalog, nodes []corev1.Node) (map[string]int64, error) {
	out := map[string]int64{}
	drivers := map[string]string{} // family → driver
	for _, f := range cat.Names() {
		dc := cat[f].DeviceClass
		if dc == "" {
			continue
		}
		var class *resourcev1.DeviceClass
		err := kube.Retry(ctx, func(ctx context.Context) error {
			var err error
			class, err = c.Typed.ResourceV1().DeviceClasses().Get(ctx, dc, metav1.GetOptions{})
			return err
		})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, kube.Explain(err)
		}
		if len(class.Spec.Selectors) == 1 && class.Spec.Selectors[0].CEL != nil {
			if m := driverSelector.FindStringSubmatch(class.Spec.Selectors[0].CEL.Expression); m != nil {
				drivers[f] = m[1]
			}
		}
	}
	if len(drivers) == 0 {
		return out, nil
	}
	nodeLabels := map[string]labels.Set{}
	for _, n := range nodes {
		nodeLabels[n.Name] = n.Labels
	}
	var slices *resourcev1.ResourceSliceList
	err := kube.Retry(ctx, func(ctx context.Context) error {
		var err error
		slices, err = c.Typed.ResourceV1().ResourceSlices().List(ctx, metav1.ListOptions{})
		return err
	})
	if err != nil {
		return nil, kube.Explain(err)
	}
	for f, driver := range drivers {
		sel := labels.SelectorFromSet(cat[f].NodeSelector)
		for _, s := range slices.Items {
			if s.Spec.Driver != driver {
				continue
			}
			node := ""
			if s.Spec.NodeName != nil {
				node = *s.Spec.NodeName
			}
			if (node == "" && len(cat[f].NodeSelector) > 0) || (node != "" && !sel.Matches(nodeLabels[node])) {
				continue
			}
			out[f] += int64(len(s.Spec.Devices))
		}
	}
	return out, nil
}
