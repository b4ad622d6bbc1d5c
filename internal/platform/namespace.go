package platform

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
)

// GetNamespace reads a namespace; a missing one is (nil, nil).
func GetNamespace(ctx context.Context, c *kube.Client, name string) (*corev1.Namespace, error) {
	var ns *corev1.Namespace
	err := kube.Retry(ctx, func(ctx context.Context) error {
		var err error
		ns, err = c.Typed.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return ns, kube.Explain(err)
}

// Owner is the tenant or project a managed namespace belongs to: Project
// is "" for a tenant namespace.
type Owner struct{ Tenant, Project string }

func (o Owner) String() string {
	if o.Project == "" {
		return fmt.Sprintf("tenant %q", o.Tenant)
	}
	return fmt.Sprintf("project %q", o.Tenant+"/"+o.Project)
}

// OwnerOf is the owner gpuplane's labels name.
func OwnerOf(labels map[string]string) Owner {
	return Owner{Tenant: labels[LabelTenant], Project: labels[LabelProject]}
}

// IsSystemNamespace reports whether a namespace is the cluster's own
// (default, kube-*), which no tenant or project may take.
func IsSystemNamespace(name string) bool {
	return name == "default" || strings.HasPrefix(name, "kube-")
}

// CheckNamespaceAdoptable refuses a namespace that owner cannot use: the
// cluster's own, one gpuplane did not create (unless adopt: a project's
// adopt_namespace), one that belongs to another tenant or project (it
// names that owner), or one being deleted. A namespace whose labels say it
// is owner's own is adopted (a create after a lost state, or after a partly
// failed create).
func CheckNamespaceAdoptable(ctx context.Context, c *kube.Client, name string, owner Owner, adopt bool) error {
	if IsSystemNamespace(name) {
		return namespaceAdoptable(nil, name, owner, adopt)
	}
	ns, err := GetNamespace(ctx, c, name)
	if err != nil {
		return err
	}
	return namespaceAdoptable(ns, name, owner, adopt)
}

// namespaceAdoptable is CheckNamespaceAdoptable's judgement of ns (nil
// when there is no such namespace).
func namespaceAdoptable(ns *corev1.Namespace, name string, owner Owner, adopt bool) error {
	if IsSystemNamespace(name) {
		return fmt.Errorf("namespace %q is one of the cluster's own (default, kube-*), so %s cannot use it. Choose another name", name, owner)
	}
	if ns == nil {
		return nil
	}
	if !IsManaged(ns.Labels) {
		if !adopt {
			fix := "Choose another name (or namespace), or delete that namespace first"
			if owner.Project != "" {
				fix += ", or set adopt_namespace = true to make it the project's namespace (see the migration guide)"
			}
			return fmt.Errorf("namespace %q already exists and was not created by gpuplane (it lacks the label %s=%s), so %s "+
				"cannot use it. %s", name, LabelManagedBy, ManagedBy, owner, fix)
		}
		if ns.Status.Phase == corev1.NamespaceTerminating || ns.DeletionTimestamp != nil {
			return fmt.Errorf("namespace %q is being deleted, so %s cannot adopt it", name, owner)
		}
		return nil
	}
	if other := OwnerOf(ns.Labels); other != owner {
		return fmt.Errorf("namespace %q already belongs to %s, so %s cannot use it: every namespace gpuplane manages belongs "+
			"to one tenant or project. Choose another name (or namespace)", name, other, owner)
	}
	if ns.Status.Phase == corev1.NamespaceTerminating || ns.DeletionTimestamp != nil {
		return fmt.Errorf("namespace %q: %w", name, ErrNamespaceTerminating)
	}
	return nil
}

// AwaitNamespaceAdoptable is CheckNamespaceAdoptable at apply: a namespace
// of owner's that is being deleted is waited for (within ctx) and then
// free to create.
func AwaitNamespaceAdoptable(ctx context.Context, c *kube.Client, name string, owner Owner, adopt bool) error {
	err := CheckNamespaceAdoptable(ctx, c, name, owner, adopt)
	if !errors.Is(err, ErrNamespaceTerminating) {
		return err
	}
	if err := WaitNamespacesGone(ctx, c, []string{name}); err != nil {
		return err
	}
	return CheckNamespaceAdoptable(ctx, c, name, owner, adopt)
}

// PlanNamespaceAdoptable is CheckNamespaceAdoptable at plan: a namespace
// of owner's being deleted is no error (the apply waits for it). adopting
// reports a namespace that exists and is not gpuplane's (allowed only with
// adopt): the apply makes it owner's.
// It reads the namespace through the read cache: a plan of N new projects
// costs a LIST of all namespaces, not N GETs; a plan of one, a LIST of just
// that name. (An apply's own namespace writes keep dropping the lists:
// there, one GET.)
func PlanNamespaceAdoptable(ctx context.Context, c *kube.Client, name string, owner Owner, adopt bool) (adopting bool, err error) {
	read := func() (*corev1.Namespace, error) {
		return kube.CachedGetAs[corev1.Namespace](ctx, c, kube.Namespaces, "", "", name)
	}
	if c.HasWritten() {
		read = func() (*corev1.Namespace, error) { return GetNamespace(ctx, c, name) }
	}
	ns, err := read()
	if err != nil {
		return false, err
	}
	if err := namespaceAdoptable(ns, name, owner, adopt); !errors.Is(err, ErrNamespaceTerminating) {
		return err == nil && ns != nil && !IsManaged(ns.Labels), err
	}
	return false, nil
}

// ErrNamespaceTerminating: the namespace is owner's own and is being
// deleted (a project destroyed earlier, whose destroy does not wait for
// the namespace controller). A plan goes on; an apply waits until it is
// gone (WaitNamespacesGone) and creates it afresh.
var ErrNamespaceTerminating = errors.New("the namespace is still being deleted")

// ApplyNamespace writes a namespace with gpuplane's labels (taking them
// back if someone changed them on a namespace gpuplane created).
func ApplyNamespace(ctx context.Context, c *kube.Client, name string, labels map[string]string) error {
	return reclaimingApply(ctx, c, kube.Namespaces, "", name, "Namespace", func(ctx context.Context, opts metav1.ApplyOptions) error {
		_, err := c.Typed.CoreV1().Namespaces().Apply(ctx, corev1ac.Namespace(name).WithLabels(labels), opts)
		return err
	})
}

// DeleteNamespace deletes a namespace and waits until the namespace
// controller has removed everything in it. It never strips finalizers; on
// timeout it reports what is left, from the namespace's conditions.
func DeleteNamespace(ctx context.Context, c *kube.Client, name string) error {
	if err := StartNamespaceDeletion(ctx, c, name); err != nil {
		return err
	}
	return WaitNamespacesGone(ctx, c, []string{name})
}

// StartNamespaceDeletion deletes a namespace without waiting: once it
// returns the namespace is terminating (the API server refuses new content
// in it) or gone.
func StartNamespaceDeletion(ctx context.Context, c *kube.Client, name string) error {
	err := kube.Retry(ctx, func(ctx context.Context) error {
		err := c.Typed.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
		if apierrors.IsConflict(err) {
			return nil // already terminating
		}
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting namespace %q: %w", name, kube.Explain(err))
	}
	return nil
}

// Workloads names the running or pending pods in the namespaces (the ones
// deleting them would kill), "namespace/name", sorted.
func Workloads(ctx context.Context, c *kube.Client, namespaces []string) ([]string, error) {
	var out []string
	for _, ns := range namespaces {
		if err := eachActivePod(ctx, c, ns, func(p *corev1.Pod) { out = append(out, p.Namespace+"/"+p.Name) }); err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}

// DescribeWorkloads says how many pods there are, naming a few.
func DescribeWorkloads(pods []string) string {
	const shown = 3
	if len(pods) <= shown {
		return fmt.Sprintf("%d running or pending pod(s): %s", len(pods), strings.Join(pods, ", "))
	}
	return fmt.Sprintf("%d running or pending pods (%s, …)", len(pods), strings.Join(pods[:shown], ", "))
}
