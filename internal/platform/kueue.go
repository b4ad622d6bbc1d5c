package platform

import (
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kueue "sigs.k8s.io/kueue/apis/kueue/v1beta2"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// The Kueue backend (quota_backend = "kueue"). Kueue tells GPU families
// apart that share a resource name (nvidia.com/gpu on most clusters) by
// the node labels of their ResourceFlavors. The mapping (docs/guides/kueue.md):
//
//   - each extended-resource family → ResourceFlavor gpuplane-<family>
//     with the family's node labels; one more, gpuplane-default, without
//     labels, provides the non-GPU resources;
//   - each tenant → Cohort gpuplane-<tenant>, whose quota per flavor is the
//     tenant's effective limit;
//   - each project → ClusterQueue <project namespace> in its tenant's
//     Cohort, selecting only the project namespace, and the LocalQueue
//     "default" there (Kueue's LocalQueueDefaulting sends a Job without a
//     queue-name label to it). Without overcommit the queue holds the
//     project's limits as nominal quota and neither lends nor borrows (the
//     plan's rule 4 keeps their sum within the tenant's limit); with
//     overcommit its nominal quota is 0 and it borrows up to the project's
//     limit from the Cohort's pool (the tenant's limit), so projects share
//     the tenant's GPUs and together never exceed them.
//
// An unlimited quota is written as UnlimitedGPUs; cpu, memory and
// ephemeral-storage are not gpuplane's to cap and get UnlimitedOther.
const (
	BackendResourceQuota       = "resource-quota"
	BackendKueue               = "kueue"
	DefaultKueueServiceAccount = "kueue-system/kueue-controller-manager"
	// LocalQueueName is the project's LocalQueue: Kueue's default-queue name.
	LocalQueueName = "default"
	// DefaultFlavor provides the resources gpuplane does not cap.
	DefaultFlavor = "gpuplane-default"
	// KueueQueueLabel names a workload's LocalQueue.
	KueueQueueLabel = "kueue.x-k8s.io/queue-name"
	// KueueAdmissionGate holds a pod of Kueue's pod integration until admitted.
	KueueAdmissionGate = "kueue.x-k8s.io/admission"
	// queueActiveTimeout bounds the wait for Kueue to activate a queue.
	queueActiveTimeout = 2 * time.Minute
	// UnlimitedGPUs stands for "no limit" in Kueue quotas, which are numbers.
	UnlimitedGPUs = 1_000_000
)

// UnlimitedOther is the quota of each resource the default flavor covers.
var UnlimitedOther = map[corev1.ResourceName]string{
	corev1.ResourceCPU: "1000000", corev1.ResourceMemory: "1Ei", corev1.ResourceEphemeralStorage: "1Ei",
}

// JobControllerUsers are the identities whose GPU pods come from Jobs: the
// Job controller running with per-controller credentials
// (--use-service-account-credentials, as kubeadm, kind and the managed
// clusters run it). kube-controller-manager's own identity is not trusted:
// without per-controller credentials it also creates the pods of
// ReplicaSets, StatefulSets and DaemonSets, which Kueue does not hold.
var JobControllerUsers = []string{"system:serviceaccount:kube-system:job-controller"}

// Kueue's resources.
var (
	ResourceFlavors = kueue.GroupVersion.WithResource("resourceflavors")
	Cohorts         = kueue.GroupVersion.WithResource("cohorts")
	ClusterQueues   = kueue.GroupVersion.WithResource("clusterqueues")
	LocalQueues     = kueue.GroupVersion.WithResource("localqueues")
	KueueWorkloads  = kueue.GroupVersion.WithResource("workloads")
)

// FlavorName is the ResourceFlavor of a family: DNS-1123 (lower case,
// '_' as '-'). Two families with one flavor name are refused at plan.
func FlavorName(family string) string {
	return "gpuplane-" + strings.ReplaceAll(strings.ToLower(family), "_", "-")
}

// CohortName is the Cohort of a tenant.
func CohortName(tenant string) string { return "gpuplane-" + tenant }

// KueueAdmitter is the user name of Kueue's controller (namespace/name of
// its service account, DefaultKueueServiceAccount when empty).
func KueueAdmitter(serviceAccount string) string {
	if serviceAccount == "" {
		serviceAccount = DefaultKueueServiceAccount
	}
	ns, name, _ := strings.Cut(serviceAccount, "/")
	return "system:serviceaccount:" + ns + ":" + name
}

// QueueParamsOf are the Kueue policy parameters of a project whose
// effective quota is eff (nil when no family is Kueue's).
func QueueParamsOf(cat quota.Catalog, eff quota.Scope, kueueServiceAccount string) *crds.QueueParams {
	if !cat.Queued() {
		return nil
	}
	q := &crds.QueueParams{LocalQueue: LocalQueueName, Admitters: []string{KueueAdmitter(kueueServiceAccount)},
		PodCreators: JobControllerUsers, Resources: []string{}}
	caps := quota.FamilyPodMax(eff, cat)
	for _, f := range cat.Names() {
		fam := cat[f]
		if !fam.Queued {
			continue
		}
		if !slices.Contains(q.Resources, fam.ResourceName) {
			q.Resources = append(q.Resources, fam.ResourceName)
		}
		if n, ok := caps[f]; ok {
			q.FamilyMaxPerPod = append(q.FamilyMaxPerPod, crds.FamilyCap{Family: f, Resource: fam.ResourceName, NodeLabels: fam.NodeSelector, Max: n})
		}
	}
	slices.Sort(q.Resources)
	return q
}

// kueueQuota is one flavor's quota of one resource in a queue or cohort.
type kueueQuota struct {
	nominal, borrowing, lending *int64 // nil borrowing/lending: no limit
}

func kueueGPUs(v quota.Value) int64 {
	if v.Unlimited {
		return UnlimitedGPUs
	}
	return v.N
}

func ptr(n int64) *int64 { return &n }

// resourceGroups are the resource groups of a queue or cohort: the default
// flavor's (cpu, memory, ephemeral-storage) when other is set, then one
// per GPU resource name, its flavors the Kueue families of that name in
// name order (the order Kueue tries them in).
func resourceGroups(cat quota.Catalog, other *kueueQuota, gpu func(family string) kueueQuota) []kueue.ResourceGroup {
	var groups []kueue.ResourceGroup
	if other != nil {
		g := kueue.ResourceGroup{}
		fq := kueue.FlavorQuotas{Name: DefaultFlavor}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
			g.CoveredResources = append(g.CoveredResources, r)
			rq := kueue.ResourceQuota{Name: r, NominalQuota: resource.MustParse(UnlimitedOther[r])}
			rq.BorrowingLimit, rq.LendingLimit = quantityOrNil(other.borrowing), quantityOrNil(other.lending)
			fq.Resources = append(fq.Resources, rq)
		}
		g.Flavors = []kueue.FlavorQuotas{fq}
		groups = append(groups, g)
	}
	byResource := map[string][]string{}
	var names []string
	for _, f := range cat.Names() {
		if fam := cat[f]; fam.Queued {
			if _, ok := byResource[fam.ResourceName]; !ok {
				names = append(names, fam.ResourceName)
			}
			byResource[fam.ResourceName] = append(byResource[fam.ResourceName], f)
		}
	}
	slices.Sort(names)
	for _, r := range names {
		g := kueue.ResourceGroup{CoveredResources: []corev1.ResourceName{corev1.ResourceName(r)}}
		for _, f := range byResource[r] {
			q := gpu(f)
			rq := kueue.ResourceQuota{Name: corev1.ResourceName(r), NominalQuota: *resource.NewQuantity(*q.nominal, resource.DecimalSI),
				BorrowingLimit: quantityOrNil(q.borrowing), LendingLimit: quantityOrNil(q.lending)}
			g.Flavors = append(g.Flavors, kueue.FlavorQuotas{Name: kueue.ResourceFlavorReference(FlavorName(f)), Resources: []kueue.ResourceQuota{rq}})
		}
		groups = append(groups, g)
	}
	return groups
}

func quantityOrNil(n *int64) *resource.Quantity {
	if n == nil {
		return nil
	}
	return resource.NewQuantity(*n, resource.DecimalSI)
}

// CohortSpec is a tenant's Cohort: its pool is the tenant's limits.
func CohortSpec(cat quota.Catalog, teff quota.Scope) kueue.CohortSpec {
	return kueue.CohortSpec{ResourceGroups: resourceGroups(cat, nil, func(f string) kueueQuota {
		return kueueQuota{nominal: ptr(kueueGPUs(teff[f].Limit))}
	})}
}

// ClusterQueueSpec is a project's ClusterQueue (see the mapping above).
func ClusterQueueSpec(tenant, namespace string, overcommit bool, cat quota.Catalog, eff quota.Scope) kueue.ClusterQueueSpec {
	zero := ptr(0)
	gpu := func(f string) kueueQuota {
		limit := eff[f].Limit
		if overcommit {
			q := kueueQuota{nominal: zero}
			if !limit.Unlimited {
				q.borrowing = ptr(limit.N)
			}
			return q
		}
		return kueueQuota{nominal: ptr(kueueGPUs(limit)), borrowing: zero, lending: zero}
	}
	running := kueue.None // undoes the HoldAndDrain of a project delete that did not finish
	return kueue.ClusterQueueSpec{
		StopPolicy: &running,
		CohortName: kueue.CohortReference(CohortName(tenant)),
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{
			corev1.LabelMetadataName: namespace}},
		ResourceGroups: resourceGroups(cat, &kueueQuota{borrowing: zero, lending: zero}, gpu),
	}
}
