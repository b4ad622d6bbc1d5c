package platform

import (
	"context"
	"strings"

	admv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	admv1ac "k8s.io/client-go/applyconfigurations/admissionregistration/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// ViewRoleName is the ClusterRole that lets the built-in view, edit and
// admin roles read a project's own Project object, and nothing more: tenants
// and project admins must not write the object that holds their quota.
const ViewRoleName = "gpuplane-view"

// Install server-side applies the CRDs, the ClusterRole and the pod
// admission policies of this provider version, waiting until the CRDs are
// served.
func Install(ctx context.Context, c *kube.Client) error {
	all, err := crds.All()
	if err != nil {
		return err
	}
	for _, crd := range all {
		if _, err := c.Apply(ctx, crds.CustomResourceDefinitions, crd); err != nil {
			return err
		}
	}
	for _, crd := range all {
		if err := waitFor(ctx, "CRD "+crd.GetName()+" to be established", func() (bool, error) {
			obj, err := c.Get(ctx, crds.CustomResourceDefinitions, "", crd.GetName())
			return err == nil && obj != nil && crdEstablished(obj), err
		}); err != nil {
			return err
		}
	}
	role := rbacv1ac.ClusterRole(ViewRoleName).
		WithLabels(ManagedLabels(map[string]string{
			"rbac.authorization.k8s.io/aggregate-to-view":  "true",
			"rbac.authorization.k8s.io/aggregate-to-edit":  "true",
			"rbac.authorization.k8s.io/aggregate-to-admin": "true",
		})).
		WithRules(rbacv1ac.PolicyRule().
			WithAPIGroups(crds.Group).
			WithResources("projects").
			WithVerbs("get", "list", "watch"))
	err = kube.ApplyTyped(ctx, "ClusterRole", ViewRoleName, func(ctx context.Context) error {
		_, err := c.Typed.RbacV1().ClusterRoles().Apply(ctx, role, c.ApplyOptions())
		return err
	})
	if err != nil {
		return err
	}
	if err := installPodPolicies(ctx, c); err != nil {
		return err
	}
	return proveAdmission(ctx, c)
}

// probeNamespace and probeResource serve proveAdmission.
const (
	probeNamespace = "gpuplane-admission-probe"
	probeResource  = "probe.tenancy.gpuplane.dev/gpu"
)

// proveAdmission returns once the API server enforces gpuplane's pod
// policies with Project parameters: in a throw-away project namespace whose
// Project caps a resource at 1, a pod asking for 2 is refused by the
// per-pod policy and a pod asking for 1 is admitted (server-side dry-run).
// Right after a policy is written, the API server may not have loaded it
// (pods pass unchecked) or may not have synced its parameters (pods are
// refused, "not yet synced"); a positive probe rules both out, so when a
// dataplane's apply returns, its policies are in force.
func proveAdmission(ctx context.Context, c *kube.Client) error {
	// A namespace of that name that is not the probe's (a tenant so named)
	// is never touched: the proof is skipped.
	if err := AwaitNamespaceAdoptable(ctx, c, probeNamespace, Owner{Tenant: "gpuplane-admission-probe", Project: "probe"}, false); err != nil {
		tflog.Warn(ctx, "not proving the admission policies are in force", map[string]any{"reason": err.Error()})
		return nil
	}
	labels := ProjectLabels("gpuplane-admission-probe", "probe", nil, nil)
	if err := ApplyNamespace(ctx, c, probeNamespace, labels); err != nil {
		return err
	}
	spec := crds.ProjectSpec{Tenant: "gpuplane-admission-probe", Project: "probe", MaxPerPod: map[string]int64{probeResource: 1}}
	obj, err := crds.New("Project", probeNamespace, "probe", labels, &spec)
	if err == nil {
		_, err = c.Apply(ctx, crds.Projects, obj)
	}
	if err != nil {
		return err
	}
	err = waitFor(ctx, "the gpuplane admission policies to be in force", func() (bool, error) {
		_, goodErr := dryRunProbe(ctx, c, probeNamespace, 1)
		if denied(goodErr) {
			return false, kube.Explain(goodErr)
		}
		_, badErr := dryRunProbe(ctx, c, probeNamespace, 2)
		return goodErr == nil && badErr != nil && strings.Contains(badErr.Error(), "largest workload allowed"), nil
	})
	if err != nil {
		return err
	}
	return DeleteNamespace(ctx, c, probeNamespace)
}

// denied reports whether RBAC (not an admission policy) refused a probe:
// the provider's identity may not create pods, and waiting will not help.
func denied(err error) bool {
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "cannot create resource")
}

// dryRunProbe asks the API server to admit a pod with gpus of probeResource,
// writing nothing.
func dryRunProbe(ctx context.Context, c *kube.Client, namespace string, gpus int64) (*corev1.Pod, error) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: namespace},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "probe", Image: "gpuplane.invalid/probe",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{probeResource: *resource.NewQuantity(gpus, resource.DecimalSI)}}}}},
	}
	return c.Typed.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
}

// podPolicy is one of gpuplane's ValidatingAdmissionPolicies on pods. Each
// reads its parameters from the Project object in the pod's namespace,
// which project admins cannot edit; namespaces without one are not affected.
type podPolicy struct {
	name        string
	paramKind   string // a gpuplane kind: Project (in the pod's namespace) or Compute (all of them)
	validations []policyValidation
	// rule is what the policy matches: pods on CREATE when nil.
	rule *admv1ac.NamedRuleWithOperationsApplyConfiguration
}

// matches is the policy's match rule.
func (p podPolicy) matches() *admv1ac.NamedRuleWithOperationsApplyConfiguration {
	if p.rule != nil {
		return p.rule
	}
	return admv1ac.NamedRuleWithOperations().WithOperations(admv1.Create).WithAPIGroups("").WithAPIVersions("v1").WithResources("pods")
}

// policyValidation is a CEL expression a pod must satisfy, and the message
// (a CEL expression too) of a refusal.
type policyValidation struct{ expression, message string }

// The per-pod GPU cap. A LimitRange cannot do it: a type Pod max on an
// extended resource refuses every pod that does not set that resource's
// limit, CPU-only pods included. For every capped resource the pod's
// effective value, computed as Kubernetes computes a pod's requests
// (component-helpers' PodRequests, the sidecar KEP 753), is at most the cap:
// the containers plus the restartable init containers (sidecars,
// restartPolicy Always) add up, and each plain init container counts with
// the sidecars declared before it (they are running while it runs). Values
// are the containers' limits: for extended resources the API server
// defaults requests from limits, and a limit alone is what users write.
//
// CEL used (all in kube-apiserver's base environment from 1.34 on, see
// k8s.io/apiserver/pkg/cel/environment/base.go): optional field selection
// (.? and [?r], orValue), quantity().asInteger(), the three-argument map
// macro (map with a filter), sum() of the Kubernetes lists library, slice()
// of the CEL lists extension (version 3 since 1.34) and the two-variable
// all(i, c, ...) of the two-variable comprehensions (since 1.32). The check
// of plain init containers is quadratic in their number: about 2,000 cost
// units for 20 init containers and 13,000 for 100, far below the API
// server's per-expression limit of 1,000,000.
var perPodPolicy = podPolicy{
	name:      "gpuplane-gpu-per-pod",
	paramKind: "Project",
	validations: []policyValidation{{expression: `!has(params.spec.maxPerPod) || params.spec.maxPerPod.all(r, ` +
		podGPUsAtMost("object.spec", "r", "params.spec.maxPerPod[r]") + `)`,
		message: `'this pod asks for more GPUs of one family than the largest workload allowed in gpuplane project ' +
  params.spec.tenant + '/' + params.spec.project + ' (gpu_quota.requests): ' +
  params.spec.maxPerPod.map(r, r + ' at most ' + string(params.spec.maxPerPod[r])).join(', ')`}},
}

// The placement policy: when the tenant lists computes, a pod must select
// one of them, with spec.nodeSelector (all of the compute's labels) or with
// required node affinity whose every term pins all of them with In.
var placementPolicy = podPolicy{
	name:      "gpuplane-placement",
	paramKind: "Project",
	validations: []policyValidation{{expression: `!has(params.spec.placement) || size(params.spec.placement) == 0 || params.spec.placement.exists(c,
  (has(object.spec.nodeSelector) && params.spec.placement[c].all(k,
    k in object.spec.nodeSelector && object.spec.nodeSelector[k] == params.spec.placement[c][k])) ||
  (object.spec.?affinity.?nodeAffinity.?requiredDuringSchedulingIgnoredDuringExecution.?nodeSelectorTerms.orValue([]).size() > 0 &&
   object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.all(t,
     params.spec.placement[c].all(k, t.?matchExpressions.orValue([]).exists(e,
       e.key == k && e.operator == 'In' && e.values.all(v, v == params.spec.placement[c][k]))))))`,
		message: `'pods in gpuplane project ' + params.spec.tenant + '/' + params.spec.project +
  ' must run on one of its tenant\'s computes: set spec.nodeSelector (or required node affinity) to ' +
  params.spec.placement.map(c, c + ' {' + params.spec.placement[c].map(k, k + '=' + params.spec.placement[c][k]).join(', ') + '}').join(' or ')`}},
}

// The exclusive-computes policy is evaluated once per Compute object: a pod
// whose namespace belongs to a tenant that does not attach the compute may
// neither select its labels nor tolerate its taints, when any tenant
// attaches it. (A toleration without key and operator Exists tolerates
// every taint.) It reads live objects at admission, so no plan needs to
// know the other tenants.
var exclusivePolicy = podPolicy{
	name:      "gpuplane-exclusive-computes",
	paramKind: "Compute",
	validations: []policyValidation{{
		expression: `!params.metadata.?labels.orValue({}).exists(k, k.startsWith('` + LabelAttachedPrefix + `')) ||
  ('` + LabelAttachedPrefix + `' + namespaceObject.metadata.?labels.orValue({})[?'` + LabelTenant + `'].orValue('')) in params.metadata.labels ||
  !(params.spec.nodeSelector.all(k, k in object.spec.?nodeSelector.orValue({}) && object.spec.nodeSelector[k] == params.spec.nodeSelector[k]) ||
    params.spec.?tolerations.orValue([]).exists(ct, ct.?key.orValue('') != '' && object.spec.?tolerations.orValue([]).exists(t,
      (t.?key.orValue('') == '' && t.?operator.orValue('') == 'Exists') || t.?key.orValue('') == ct.key)))`,
		message: `'pods of tenant ' + namespaceObject.metadata.?labels.orValue({})[?'` + LabelTenant + `'].orValue('') +
  ' may neither select nor tolerate compute ' + params.metadata.name + ', which other tenants attach'`}},
}

var podPolicies = []podPolicy{perPodPolicy, placementPolicy, exclusivePolicy, kueuePodPolicy, kueueJobPolicy,
	claimsPolicy, claimTemplatesPolicy}

// WaitPodPolicies returns once gpuplane's pod policies are in force in a
// project namespace. With a per-pod cap (maxPerPod, from the Project object
// just written) the check is positive: a pod one above a cap is refused by
// gpuplane's policies (server-side dry-run, nothing written), which proves
// the API server has the namespace's parameters. Without one, it waits
// until the API server no longer refuses pods there for lack of synced
// parameters ("not yet synced"). Any other refusal (Pod Security, a
// webhook) is not gpuplane's to wait for.
func WaitPodPolicies(ctx context.Context, c *kube.Client, namespace string, maxPerPod map[string]int64) error {
	for r, n := range maxPerPod {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "gpuplane-admission-probe", Namespace: namespace},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "probe", Image: "gpuplane.invalid/probe",
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceName(r): *resource.NewQuantity(n+1, resource.DecimalSI)}}}}},
		}
		// Any refusal of a gpuplane policy that names the project proves its
		// parameters are synced (the placement policy may refuse first).
		return waitFor(ctx, "the per-pod GPU cap to be in force in namespace "+namespace, func() (bool, error) {
			_, err := c.Typed.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if denied(err) {
				return false, kube.Explain(err)
			}
			return err != nil && strings.Contains(err.Error(), "in gpuplane project "), nil
		})
	}
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "gpuplane-admission-probe", Namespace: namespace},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "probe", Image: "gpuplane.invalid/probe"}}},
	}
	return waitFor(ctx, "the gpuplane admission policies to be active in namespace "+namespace, func() (bool, error) {
		_, err := c.Typed.CoreV1().Pods(namespace).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if denied(err) {
			return false, kube.Explain(err)
		}
		return err == nil || !strings.Contains(err.Error(), "not yet synced"), nil
	})
}

func validations(p podPolicy) []*admv1ac.ValidationApplyConfiguration {
	out := make([]*admv1ac.ValidationApplyConfiguration, 0, len(p.validations))
	for _, v := range p.validations {
		out = append(out, admv1ac.Validation().WithExpression(v.expression).WithMessageExpression(v.message).
			WithReason(metav1.StatusReasonForbidden))
	}
	return out
}

func installPodPolicies(ctx context.Context, c *kube.Client) error {
	for _, p := range podPolicies {
		policy := admv1ac.ValidatingAdmissionPolicy(p.name).WithLabels(ManagedLabels(nil)).
			WithSpec(admv1ac.ValidatingAdmissionPolicySpec().
				WithFailurePolicy(admv1.Fail).
				WithParamKind(admv1ac.ParamKind().WithAPIVersion(crds.Group + "/" + crds.Version).WithKind(p.paramKind)).
				WithMatchConstraints(admv1ac.MatchResources().WithResourceRules(p.matches())).
				WithValidations(validations(p)...))
		err := kube.ApplyTyped(ctx, "ValidatingAdmissionPolicy", p.name, func(ctx context.Context) error {
			_, err := c.Typed.AdmissionregistrationV1().ValidatingAdmissionPolicies().Apply(ctx, policy, c.ApplyOptions())
			return err
		})
		if err != nil {
			return err
		}
		binding := admv1ac.ValidatingAdmissionPolicyBinding(p.name).WithLabels(ManagedLabels(nil)).
			WithSpec(admv1ac.ValidatingAdmissionPolicyBindingSpec().
				WithPolicyName(p.name).
				// Only project namespaces: until the API server has synced the
				// Project kind the policy refuses every pod it matches, and other
				// namespaces must never see that. The label is gpuplane's own;
				// project admins cannot edit namespaces.
				WithMatchResources(admv1ac.MatchResources().WithNamespaceSelector(metav1ac.LabelSelector().
					WithMatchExpressions(metav1ac.LabelSelectorRequirement().WithKey(LabelProject).WithOperator(metav1.LabelSelectorOpExists)))).
				// Project params come from the pod's namespace; Compute params
				// (cluster-scoped) are all of gpuplane's computes.
				WithParamRef(admv1ac.ParamRef().
					WithSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{LabelManagedBy: ManagedBy})).
					WithParameterNotFoundAction(admv1.AllowAction)).
				WithValidationActions(admv1.Deny))
		err = kube.ApplyTyped(ctx, "ValidatingAdmissionPolicyBinding", p.name, func(ctx context.Context) error {
			_, err := c.Typed.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Apply(ctx, binding, c.ApplyOptions())
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Uninstall removes what Install wrote and waits for the
// CRDs to be gone (the API server deletes their objects first).
func Uninstall(ctx context.Context, c *kube.Client) error {
	err := kube.Retry(ctx, func(ctx context.Context) error {
		err := c.Typed.RbacV1().ClusterRoles().Delete(ctx, ViewRoleName, metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return kube.Explain(err)
	}
	adm := c.Typed.AdmissionregistrationV1()
	for _, p := range podPolicies {
		// The binding first, then its policy; each delete retried on its own.
		for _, del := range []func(context.Context, string, metav1.DeleteOptions) error{
			adm.ValidatingAdmissionPolicyBindings().Delete, adm.ValidatingAdmissionPolicies().Delete,
		} {
			err := kube.Retry(ctx, func(ctx context.Context) error {
				if err := del(ctx, p.name, metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
					return err
				}
				return nil
			})
			if err != nil {
				return kube.Explain(err)
			}
		}
	}
	all, err := crds.All()
	if err != nil {
		return err
	}
	for _, crd := range all {
		if err := c.Delete(ctx, crds.CustomResourceDefinitions, "", crd.GetName()); err != nil {
			return err
		}
	}
	for _, crd := range all {
		if err := waitFor(ctx, "CRD "+crd.GetName()+" to be deleted", func() (bool, error) {
			obj, err := c.Get(ctx, crds.CustomResourceDefinitions, "", crd.GetName())
			return err == nil && obj == nil, err
		}); err != nil {
			return err
		}
	}
	return nil
}

func crdEstablished(obj *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}
