package provider

import (
	"context"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// The list resources find the tenants and projects a cluster holds, with
// their identities and, when asked, the resources as an import would read
// them. `terraform query` (Terraform 1.14) is what calls them; no CLI here
// has it (the module proxy serves Terraform up to 1.13, and OpenTofu 1.12
// has no query), so the test calls the provider's server as the CLI does,
// over the protocol, against the real API server.
func TestAccListResources(t *testing.T) {
	testAccPreCheck(t)
	config := platformConfig(researchTenant) + projectConfig("vision", visionProject) + projectConfig("nlp", nlpProject)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{{
			Config: config,
			Check: func(*terraform.State) error {
				s := newListCaller(t)
				if got := s.list("gpuplane_tenant", nil, 0); !slices.Equal(got.ids, []string{"research"}) {
					t.Errorf("tenants: %v, want [research]", got.ids)
				}
				all := s.list("gpuplane_project", map[string]string{"tenant": "research"}, 0)
				if !slices.Equal(all.ids, []string{"research/nlp", "research/vision"}) {
					t.Errorf("projects of research: %v, want [research/nlp research/vision]", all.ids)
				}
				if ns := all.resources["research/vision"]["namespace"]; ns != "research-vision" {
					t.Errorf("listed project vision's namespace = %q, want research-vision (the resource as read)", ns)
				}
				if got := s.list("gpuplane_project", map[string]string{"tenant": "research"}, 1); len(got.ids) != 1 {
					t.Errorf("a limit of 1 listed %v", got.ids)
				}
				if got := s.list("gpuplane_project", map[string]string{"tenant": "elsewhere"}, 0); len(got.ids) != 0 {
					t.Errorf("projects of a tenant without any: %v", got.ids)
				}
				return nil
			},
		}},
	})
}

// listCaller calls a configured provider server's list resources.
type listCaller struct {
	t      *testing.T
	ctx    context.Context
	server tfprotov6.ProviderServer
	schema *tfprotov6.GetProviderSchemaResponse
	ident  *tfprotov6.GetResourceIdentitySchemasResponse
}

func newListCaller(t *testing.T) *listCaller {
	ctx := context.Background()
	s := NewServer("test")()
	schema, err := s.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ident, err := s.GetResourceIdentitySchemas(ctx, &tfprotov6.GetResourceIdentitySchemasRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// The provider block of the tests: every attribute null (KUBE_CONFIG_PATH names the cluster).
	resp, err := s.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{Config: dynamicValue(t, schema.Provider.ValueType(), nil)})
	if err != nil || diagsError(resp.Diagnostics) != "" {
		t.Fatalf("configuring the provider: %v %s", err, diagsError(resp.Diagnostics))
	}
	return &listCaller{t: t, ctx: ctx, server: s, schema: schema, ident: ident}
}

// listed is what a list call returned: the display names, and per name the
// resource's string attributes.
type listed struct {
	ids       []string
	resources map[string]map[string]string
}

func (l *listCaller) list(typeName string, config map[string]string, limit int64) listed {
	l.t.Helper()
	ls, ok := l.server.(listServer)
	if !ok {
		l.t.Fatal("the provider server has no list resources")
	}
	stream, err := ls.ListResource(l.ctx, &tfprotov6.ListResourceRequest{TypeName: typeName, IncludeResource: true, Limit: limit,
		Config: dynamicValue(l.t, l.schema.ListResourceSchemas[typeName].ValueType(), config)})
	if err != nil {
		l.t.Fatalf("ListResource(%s): %v", typeName, err)
	}
	out := listed{resources: map[string]map[string]string{}}
	for r := range stream.Results {
		if msg := diagsError(r.Diagnostics); msg != "" {
			l.t.Fatalf("ListResource(%s): %s", typeName, msg)
		}
		identity := stringAttributes(l.t, r.Identity.IdentityData, l.ident.IdentitySchemas[typeName].ValueType())
		want := identity["name"]
		if identity["tenant"] != "" {
			want = identity["tenant"] + "/" + want
		}
		if r.DisplayName != want {
			l.t.Errorf("%s result %q has the identity %v", typeName, r.DisplayName, identity)
		}
		out.ids = append(out.ids, r.DisplayName)
		out.resources[r.DisplayName] = stringAttributes(l.t, r.Resource, l.schema.ResourceSchemas[typeName].ValueType())
	}
	return out
}

// dynamicValue is an object of typ with the given string attributes, the
// others null.
func dynamicValue(t *testing.T, typ tftypes.Type, strings map[string]string) *tfprotov6.DynamicValue {
	t.Helper()
	obj, ok := typ.(tftypes.Object)
	if !ok {
		t.Fatalf("%s is not an object type", typ)
	}
	vals := map[string]tftypes.Value{}
	for name, at := range obj.AttributeTypes {
		if v, ok := strings[name]; ok {
			vals[name] = tftypes.NewValue(at, v)
		} else {
			vals[name] = tftypes.NewValue(at, nil)
		}
	}
	dv, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, vals))
	if err != nil {
		t.Fatal(err)
	}
	return &dv
}

// stringAttributes are the known string attributes of an object value.
func stringAttributes(t *testing.T, dv *tfprotov6.DynamicValue, typ tftypes.Type) map[string]string {
	t.Helper()
	out := map[string]string{}
	if dv == nil {
		return out
	}
	v, err := dv.Unmarshal(typ)
	if err != nil {
		t.Fatal(err)
	}
	var attrs map[string]tftypes.Value
	if err := v.As(&attrs); err != nil {
		t.Fatal(err)
	}
	for name, a := range attrs {
		var s string
		if a.Type().Is(tftypes.String) && a.IsKnown() && !a.IsNull() && a.As(&s) == nil {
			out[name] = s
		}
	}
	return out
}

func diagsError(diags []*tfprotov6.Diagnostic) string {
	msg := ""
	for _, d := range diags {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			msg += d.Summary + ": " + d.Detail + "\n"
		}
	}
	return msg
}
