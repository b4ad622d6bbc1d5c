// Package quota is gpuplane's pure model of GPU quota: the effective quota
// of a tenant or project per GPU family, the rules a plan must satisfy, and
// how the result is written as Kubernetes quota keys. It does no I/O and
// imports only the standard library.
//
// # Effective quota
//
// Quotas are written per GPU family of the dataplane catalog, with the key
// Default for every family a quota does not list. For a family f, the
// effective limit of a scope is looked up in this order, and each value
// carries where it comes from (its Source):
//
//  1. the scope's own limits[f]: source "project" or "tenant";
//  2. the scope's limits["Default"]: source "project-default" or "tenant-default";
//  3. for a project, its tenant's effective value: source "inherited";
//  4. else unlimited: source "unlimited".
//
// Requests are looked up the same way, with one more rule (the request
// cap): a request cap the scope does not set itself (inherited or
// unlimited) that exceeds the scope's finite effective limit is that limit,
// with the limit's source. A request the scope sets itself is left as
// written, so rule 2 can report it. TenantEffective and ProjectEffective
// compute this; Tenant.Effective is TenantEffective over a catalog.
//
// # Rules
//
// The rules, numbered as in DESIGN.md §3.2 and the provider's documentation;
// CheckTenant and CheckProject apply those a tenant and a project must pass:
//
//  1. Keys are catalog families or Default; values are whole numbers >= 0:
//     CheckKeys, and ParseCount for each count read from a configuration
//     (the resources and the effective_gpu_quota function share it).
//  2. A scope's effective request cap is at most its effective limit:
//     CheckRequestsWithinLimits.
//  3. A project's effective limit and request cap are at most its tenant's,
//     for every family: CheckProjectInTenant.
//  4. With overcommit = false, the projects' effective limits add up to at
//     most the tenant's limit, per family, a project that sets no limit
//     counting with the tenant's whole limit; with overcommit = true a sum
//     above it is a warning, except for Kueue-enforced families (Family.Queued),
//     whose tenant total Kueue enforces: CheckTenantTotal.
//  5. Families that share a Kubernetes resource name cannot carry a quota,
//     unless Kueue enforces them (Family.Queued): CheckSharedResources.
//  6. A limit below current usage is allowed, with a warning: BelowUsage.
//  7. A tenant's computes and memberships stay within the tenant: a
//     project's compute is one of its tenant's computes (CheckProject), and a
//     tenant does not drop a compute a live project uses (CheckTenant). That a
//     membership's projects belong to its tenant, and that a project never
//     moves to another tenant, need the cluster: the provider checks them
//     (the membership's plan check; a change of tenant replaces the project).
//
// Problems name their attribute by its whole path from the resource's root
// (see Problem.Attribute), and their text says what is wrong, with which
// values, and the fix.
package quota
