package platform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
)

// MemberRoles maps membership roles to the built-in ClusterRoles.
var MemberRoles = map[string]string{"admin": "admin", "developer": "edit", "viewer": "view"}

// Membership is a membership as gpuplane writes it: a cluster-scoped
// TenantMembership named <tenant>.<name> and a RoleBinding in the tenant
// namespace and in each covered project namespace.
type Membership struct {
	Tenant, Name string
	Subject      crds.Subject
	Role         string
	Projects     []string // empty: every project
}

// MembershipOf is the membership a TenantMembership records.
func MembershipOf(spec crds.TenantMembershipSpec) Membership {
	return Membership{Tenant: spec.Tenant, Name: spec.Membership, Subject: spec.Subject, Role: spec.Role, Projects: spec.Projects}
}

// Key is the name of the TenantMembership object, and the value of its
// bindings' membership label.
func (m Membership) Key() string { return m.Tenant + "." + m.Name }

func (m Membership) bindingName() string { return "gpuplane-member-" + m.Name }

// Covers reports whether the membership covers a project.
func (m Membership) Covers(project string) bool {
	return len(m.Projects) == 0 || slices.Contains(m.Projects, project)
}

// coversBinding reports whether a binding of this membership belongs where
// it is: in the tenant namespace or a covered project's. It judges by the
// binding's project label, not by a list of projects read earlier: a project
// created meanwhile binds the membership itself, and that binding must stay.
func (m Membership) coversBinding(rb rbacv1.RoleBinding) bool {
	project := rb.Labels[LabelProject]
	return (project == "" && rb.Namespace == m.Tenant) || (project != "" && m.Covers(project))
}

func (m Membership) labels(project string) map[string]string {
	l := TenantLabels(m.Tenant, nil)
	l[LabelMembership] = m.Key()
	if project != "" {
		l[LabelProject] = project
	}
	return l
}

// SubjectKey identifies a subject: two memberships of one tenant may not share it.
func SubjectKey(s crds.Subject) string { return s.Kind + "/" + s.Namespace + "/" + s.Name }

var nonLabelChars = regexp.MustCompile(`[^a-z0-9]+`)

// DefaultMembershipName derives a DNS label from the subject, with a hash so
// that names that sanitise alike stay apart.
func DefaultMembershipName(s crds.Subject) string {
	base := strings.ToLower(s.Kind + "-" + s.Namespace + "-" + s.Name)
	base = strings.Trim(nonLabelChars.ReplaceAllString(base, "-"), "-")
	if len(base) > 50 {
		base = strings.TrimRight(base[:50], "-")
	}
	sum := sha256.Sum256([]byte(SubjectKey(s)))
	return base + "-" + hex.EncodeToString(sum[:4])
}

// GetMembership reads a membership (from the cached LIST, see
// CachedGetOrGet); nil when there is none.
func GetMembership(ctx context.Context, c *kube.Client, tenant, name string) (*Membership, error) {
	obj, err := c.CachedGetOrGet(ctx, crds.TenantMemberships, ManagedSelector, "", tenant+"."+name)
	if err != nil || obj == nil {
		return nil, err
	}
	spec, err := specOf[crds.TenantMembershipSpec](obj)
	if err != nil {
		return nil, err
	}
	m := MembershipOf(*spec)
	return &m, nil
}

// WriteMembership writes the TenantMembership object.
func WriteMembership(ctx context.Context, c *kube.Client, mb Membership) error {
	spec := &crds.TenantMembershipSpec{Tenant: mb.Tenant, Membership: mb.Name, Subject: mb.Subject, Role: mb.Role, Projects: mb.Projects}
	obj, err := crds.New("TenantMembership", "", mb.Key(), mb.labels(""), spec)
	if err == nil {
		_, err = reclaimingApplyObject(ctx, c, crds.TenantMemberships, obj)
	}
	return err
}

// memberNamespaces are the namespaces a membership binds in: the tenant's
// and those of the covered projects that exist, with their project names.
func memberNamespaces(ctx context.Context, c *kube.Client, mb Membership) (map[string]string, error) {
	projects, err := ListProjects(ctx, c, mb.Tenant)
	if err != nil {
		return nil, err
	}
	out := map[string]string{mb.Tenant: ""}
	for _, p := range projects {
		if mb.Covers(p.Name) {
			out[p.Namespace] = p.Name
		}
	}
	return out, nil
}

// SyncMemberBindings applies the membership's RoleBindings where it covers,
// and deletes those it no longer covers (found by label). The membership
// writes its object first, then lists the projects; a project written
// concurrently lists the memberships after writing its own object, so one
// of the two binds.
func SyncMemberBindings(ctx context.Context, c *kube.Client, mb Membership) error {
	want, err := memberNamespaces(ctx, c, mb)
	if err != nil {
		return err
	}
	for ns, project := range want {
		if err := applyMemberBinding(ctx, c, mb, ns, project); err != nil {
			return err
		}
	}
	live, err := memberBindings(ctx, c, mb)
	if err != nil {
		return err
	}
	return DeleteRoleBindings(ctx, c, slices.DeleteFunc(live, mb.coversBinding))
}

func rbacSubject(s crds.Subject) *rbacv1ac.SubjectApplyConfiguration {
	sub := rbacv1ac.Subject().WithKind(s.Kind).WithName(s.Name)
	if s.Kind == rbacv1.ServiceAccountKind {
		return sub.WithNamespace(s.Namespace)
	}
	return sub.WithAPIGroup(rbacv1.GroupName)
}

func applyMemberBinding(ctx context.Context, c *kube.Client, mb Membership, namespace, project string) error {
	rb := rbacv1ac.RoleBinding(mb.bindingName(), namespace).WithLabels(mb.labels(project)).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(MemberRoles[mb.Role])).
		WithSubjects(rbacSubject(mb.Subject))
	return reclaimingApply(ctx, c, kube.RoleBindings, namespace, mb.bindingName(), "RoleBinding", func(ctx context.Context, opts metav1.ApplyOptions) error {
		_, err := c.Typed.RbacV1().RoleBindings(namespace).Apply(ctx, rb, opts)
		return err
	})
}

// memberBindings lists a membership's RoleBindings in every namespace: by
// its label for the first memberships, then from the cached LIST of all of
// gpuplane's bindings (see kube.CachedListAsNarrowing).
func memberBindings(ctx context.Context, c *kube.Client, mb Membership) ([]rbacv1.RoleBinding, error) {
	return kube.CachedListAsNarrowing[rbacv1.RoleBinding](ctx, c, kube.RoleBindings, ManagedSelector, LabelMembership+"="+mb.Key())
}

// ListMemberships lists a tenant's memberships (from the cached LIST).
func ListMemberships(ctx context.Context, c *kube.Client, tenant string) ([]Membership, error) {
	all, err := kube.CachedDecoded(ctx, c, crds.TenantMemberships, ManagedSelector, func(obj *unstructured.Unstructured) (Membership, error) {
		spec, err := specOf[crds.TenantMembershipSpec](obj)
		if err != nil {
			return Membership{}, err
		}
		return MembershipOf(*spec), nil
	})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(mb Membership) bool { return mb.Tenant != tenant }), nil
}

// BindMembershipsInProject gives a project the RoleBindings of the tenant's
// memberships that cover it; the project calls it after writing its own object.
func BindMembershipsInProject(ctx context.Context, c *kube.Client, tenant, project, namespace string) error {
	mbs, err := ListMemberships(ctx, c, tenant)
	if err != nil {
		return err
	}
	for _, mb := range mbs {
		if mb.Covers(project) {
			if err := applyMemberBinding(ctx, c, mb, namespace, project); err != nil {
				return err
			}
		}
	}
	return nil
}

// MemberBindingsInSync compares the live bindings with where the membership
// should bind, and what each grants.
func MemberBindingsInSync(ctx context.Context, c *kube.Client, mb Membership) (bool, error) {
	want, err := memberNamespaces(ctx, c, mb)
	if err != nil {
		return false, err
	}
	live, err := memberBindings(ctx, c, mb)
	if err != nil {
		return false, err
	}
	seen := map[string]bool{}
	for _, rb := range live {
		s := rb.Subjects
		ok := rb.RoleRef.Kind == "ClusterRole" && rb.RoleRef.Name == MemberRoles[mb.Role] && len(s) == 1 &&
			s[0].Kind == mb.Subject.Kind && s[0].Name == mb.Subject.Name && s[0].Namespace == mb.Subject.Namespace
		if !mb.coversBinding(rb) || !ok {
			return false, nil
		}
		seen[rb.Namespace] = true
	}
	for ns := range want {
		if !seen[ns] {
			return false, nil
		}
	}
	return true, nil
}

// DeleteMembership removes the object first (so no project binds it again),
// then every RoleBinding it has.
func DeleteMembership(ctx context.Context, c *kube.Client, mb Membership) error {
	if err := c.Delete(ctx, crds.TenantMemberships, "", mb.Key()); err != nil {
		return err
	}
	live, err := memberBindings(ctx, c, mb)
	if err != nil {
		return err
	}
	return DeleteRoleBindings(ctx, c, live)
}

// ProjectTenant names the tenant of a live project called project in
// another tenant ("" when there is none), for errors about a membership
// reaching outside its tenant.
func ProjectTenant(ctx context.Context, c *kube.Client, project string) (string, error) {
	other, err := c.List(ctx, crds.Projects, "", LabelProject+"="+project)
	if err != nil || len(other) == 0 {
		return "", err
	}
	return other[0].GetLabels()[LabelTenant], nil
}
