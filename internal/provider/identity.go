package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Resource identity (Terraform 1.12+, OpenTofu 1.12+): what names a
// resource's object in the cluster, as attributes, so that an import block
// can say `identity = { tenant = "research", name = "vision" }` and a CLI
// can tell the object a state entry manages. Each resource's identity is a
// few of its required string attributes, copied from its state.

// identityAttr is one attribute of an identity: a state attribute of the
// same name.
type identityAttr struct{ name, description string }

// identity is a resource's identity: its attributes, in order.
type identity []identityAttr

func (id identity) schema() identityschema.Schema {
	attrs := map[string]identityschema.Attribute{}
	for _, a := range id {
		attrs[a.name] = identityschema.StringAttribute{RequiredForImport: true, Description: a.description}
	}
	return identityschema.Schema{Attributes: attrs}
}

// sync copies the identity attributes from state into ident after a
// Create, Update or Read: nothing when the state was removed or not set
// (a failed create), or when the CLI sent no identity.
func (id identity) sync(ctx context.Context, state *tfsdk.State, ident *tfsdk.ResourceIdentity, diags *diag.Diagnostics) {
	if ident == nil || state == nil || state.Raw.IsNull() {
		return
	}
	for _, a := range id {
		var v types.String
		diags.Append(state.GetAttribute(ctx, path.Root(a.name), &v)...)
		diags.Append(ident.SetAttribute(ctx, path.Root(a.name), v)...)
	}
}

// importState imports a resource: from an import block's identity, or
// from the string ID, which split parses into the identity's values in its
// order (usage names its form, for the error). The state gets the
// identity's attributes and id (the values joined by "/"), and the
// identity its values; the Read that follows fills in the rest.
func (id identity) importState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse,
	split func(string) ([]string, bool), usage string) {
	var parts []string
	if req.ID == "" && req.Identity != nil {
		for _, a := range id {
			var v types.String
			resp.Diagnostics.Append(req.Identity.GetAttribute(ctx, path.Root(a.name), &v)...)
			if v.ValueString() == "" {
				resp.Diagnostics.AddAttributeError(path.Root(a.name), "Incomplete import identity",
					fmt.Sprintf("The import block's identity must set %s: %s", a.name, a.description))
			}
			parts = append(parts, v.ValueString())
		}
	} else if p, ok := split(req.ID); ok && len(p) == len(id) {
		parts = p
	} else {
		resp.Diagnostics.AddError("Invalid import ID", fmt.Sprintf("Import ID %q is not %s.", req.ID, usage))
	}
	if resp.Diagnostics.HasError() {
		return
	}
	for i, a := range id {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(a.name), parts[i])...)
		if resp.Identity != nil {
			resp.Diagnostics.Append(resp.Identity.SetAttribute(ctx, path.Root(a.name), parts[i])...)
		}
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), strings.Join(parts, "/"))...)
}

// splitName is split for a resource whose identity is its name.
func splitName(id string) ([]string, bool) { return []string{id}, id != "" }

// splitTenantScoped is split for "<tenant>/<name>" (or "<tenant>:<name>").
func splitTenantScoped(id string) ([]string, bool) {
	tenant, name, ok := splitQualified(id)
	return []string{tenant, name}, ok
}
