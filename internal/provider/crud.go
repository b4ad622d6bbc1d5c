package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
)

// The parts every resource's CRUD shares.

// Default timeouts of the resources' operations.
const (
	defaultWriteTimeout  = 5 * time.Minute
	defaultDeleteTimeout = 10 * time.Minute
)

// timeoutsAttribute is the timeouts block of every resource.
func timeoutsAttribute(ctx context.Context) schema.Attribute {
	a := timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true})
	if n, ok := a.(schema.SingleNestedAttribute); ok {
		n.MarkdownDescription = "How long each operation may take, waits and retries of transient API errors included: " +
			"`create` and `update` default to 5m (10m for a dataplane), `delete` to 10m."
		return n
	}
	return a
}

// timeoutFunc is one of timeouts.Value's Create, Update or Delete.
type timeoutFunc func(context.Context, time.Duration) (time.Duration, diag.Diagnostics)

// begin starts a Create, Update or Delete: ctx bounded by the resource's
// timeout for the operation (def when not configured), and the shared
// client. c is nil when diags holds an error; cancel is always set.
func (d *providerData) begin(ctx context.Context, timeout timeoutFunc, def time.Duration, diags *diag.Diagnostics) (context.Context, context.CancelFunc, *kube.Client) {
	t, ds := timeout(ctx, def)
	diags.Append(ds...)
	ctx, cancel := context.WithTimeout(ctx, t)
	c := d.clientOrError(diags)
	if diags.HasError() {
		return ctx, cancel, nil
	}
	return ctx, cancel, c
}

// readClient returns the client for a Read, or nil when there is nothing
// to read with: an error so far, or a provider configuration known only at
// apply (the state is kept as it is).
func (d *providerData) readClient(diags *diag.Diagnostics) *kube.Client {
	if diags.HasError() || d == nil || !d.client.Known() {
		return nil
	}
	return d.clientOrError(diags)
}

// existingObject describes the object a Create writes, which may exist.
type existingObject struct {
	gvr             k8sschema.GroupVersionResource
	namespace, name string
	kind, display   string         // e.g. "Tenant", `"research"`
	typeName, id    string         // e.g. "gpuplane_tenant", "research"
	owner           platform.Owner // the tenant or project the object belongs to
}

// adoptable adds an error, and returns false, unless the object is absent
// or is this very resource's: written by gpuplane, with the labels of its
// owner (a create after a lost state, or after a partly failed create).
// Create never takes over an object of another tool or of another tenant
// or project, and says how to import it.
func adoptable(ctx context.Context, c *kube.Client, o existingObject, diags *diag.Diagnostics) bool {
	labels, exists, err := platform.LabelsOf(ctx, c, o.gvr, o.namespace, o.name)
	switch {
	case err != nil:
		diags.AddError("Cannot create "+o.typeName, err.Error())
		return false
	case !exists:
		return true
	case !platform.IsManaged(labels):
		diags.AddError(o.kind+" already exists",
			fmt.Sprintf("%s %s exists but was not created by gpuplane. Import it with: terraform import %s.<name> %s",
				o.kind, o.display, o.typeName, o.id))
		return false
	case platform.OwnerOf(labels) != o.owner:
		diags.AddError(o.kind+" already exists",
			fmt.Sprintf("%s %s exists and belongs to %s, not to %s. Choose another name.", o.kind, o.display, platform.OwnerOf(labels), o.owner))
		return false
	}
	return true
}

// target is where a Create or Update records what it wrote.
type target struct {
	state    stateSetter
	creating bool
}

// finish records a write that reached the cluster and reports its error,
// if any, truthfully. An Update that failed part-way is saved with
// objects_in_sync = false: the next plan shows it and the next apply writes
// what is missing. A Create that failed part-way is not saved, so that
// Terraform does not taint it (a tainted project is replaced, and its
// namespace deleted with everything in it): what it wrote carries the
// labels of this very resource, and the next apply adopts it and writes
// the rest.
func (w target) finish(ctx context.Context, m any, what, summary string, err error, diags *diag.Diagnostics) {
	if err != nil {
		next := "The %s is saved with objects_in_sync = false; the next apply writes what is missing."
		if w.creating {
			next = "The %s is not recorded in the state yet: what was written carries its labels, and the next apply " +
				"adopts it and writes the rest (nothing is replaced or deleted)."
		}
		diags.AddError(summary, err.Error()+"\n\n"+fmt.Sprintf(next, what))
	}
	if w.creating && diags.HasError() {
		return
	}
	diags.Append(w.state.Set(ctx, m)...)
}
