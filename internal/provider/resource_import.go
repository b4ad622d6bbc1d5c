package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// Import and identity of every resource: an import block by ID or by
// identity (identity.go) sets what Read needs.

func (r *dataplaneResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	dataplaneIdentity.importState(ctx, req, resp, splitName, "a dataplane name, e.g. main")
}

// dataplaneIdentity names the object of a dataplane resource.
var dataplaneIdentity = identity{{"name", "The dataplane's name."}}

func (r *dataplaneResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = dataplaneIdentity.schema()
}

func (r *computeResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	computeIdentity.importState(ctx, req, resp, splitName, "a compute name, e.g. h100-pool")
}

// computeIdentity names the object of a compute resource.
var computeIdentity = identity{{"name", "The compute's name."}}

func (r *computeResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = computeIdentity.schema()
}

func (r *tenantResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	tenantIdentity.importState(ctx, req, resp, splitName, "a tenant name, e.g. research")
	if !resp.Diagnostics.HasError() {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("deletion_protection"), true)...)
	}
}

// tenantIdentity names the object of a tenant resource.
var tenantIdentity = identity{{"name", "The tenant's name."}}

func (r *tenantResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = tenantIdentity.schema()
}

func (r *projectResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	projectIdentity.importState(ctx, req, resp, splitTenantScoped, "<tenant>/<project> (or <tenant>:<project>), e.g. research/vision")
	if !resp.Diagnostics.HasError() {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("deletion_protection"), true)...)
	}
}

// projectIdentity names the object of a project resource.
var projectIdentity = identity{{"tenant", "The project's tenant."}, {"name", "The project's name in its tenant."}}

func (r *projectResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = projectIdentity.schema()
}

func (r *membershipResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	membershipIdentity.importState(ctx, req, resp, splitTenantScoped, "<tenant>/<membership> (or <tenant>:<membership>), e.g. research/alice")
}

// membershipIdentity names the object of a membership resource.
var membershipIdentity = identity{{"tenant", "The membership's tenant."}, {"name", "The membership's name in its tenant."}}

func (r *membershipResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = membershipIdentity.schema()
}
