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

// foreignObject describes an object a Create would take over.
type foreignObject struct {
	gvr             k8sschema.GroupVersionResource
	namespace, name string
	kind, display   string // e.g. "Tenant", `"research"`
	typeName, id    string // e.g. "gpuplane_tenant", "research"
}

// refuseForeign adds an error, and returns false, when the object exists
// but gpuplane did not create it: Create never adopts such an object
// silently, and says how to import it.
func refuseForeign(ctx context.Context, c *kube.Client, o foreignObject, diags *diag.Diagnostics) bool {
	foreign, err := platform.Foreign(ctx, c, o.gvr, o.namespace, o.name)
	if err != nil {
		diags.AddError("Cannot create "+o.typeName, err.Error())
		return false
	}
	if foreign {
		diags.AddError(o.kind+" already exists",
			fmt.Sprintf("%s %s exists but was not created by gpuplane. Import it with: terraform import %s.<name> %s",
				o.kind, o.display, o.typeName, o.id))
		return false
	}
	return true
}

// partialWriteDetail ends the error of a write that saved the resource with
// objects_in_sync = false.
const partialWriteDetail = "\n\nThe %s is saved with objects_in_sync = false; the next apply writes what is missing."
