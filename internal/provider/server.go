package provider

import (
	"context"
	"errors"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// NewServer is the provider's protocol 6 server, as Terraform and OpenTofu
// run it.
func NewServer(version string) func() tfprotov6.ProviderServer {
	return func() tfprotov6.ProviderServer {
		return nullArguments{providerserver.NewProtocol6(New(version)())()}
	}
}

// nullArguments fills in the function arguments that a CLI sends as no
// value at all. OpenTofu (1.12) sends a null argument of a parameter that
// allows null as an empty DynamicValue, which the framework refuses
// ("DynamicValue had no JSON or msgpack data set"), so
// effective_gpu_quota(tenant, null, families) failed there; Terraform sends
// a null. MessagePack's nil (0xc0) is the null of every type.
//
// It forwards every method of the framework's server, the list resources'
// (an optional interface of terraform-plugin-go today) included.
type nullArguments struct {
	tfprotov6.ProviderServer
}

// listServer is the list resources' part of the framework's server.
type listServer interface {
	ListResource(context.Context, *tfprotov6.ListResourceRequest) (*tfprotov6.ListResourceServerStream, error)
	ValidateListResourceConfig(context.Context, *tfprotov6.ValidateListResourceConfigRequest) (*tfprotov6.ValidateListResourceConfigResponse, error)
}

func (s nullArguments) ListResource(ctx context.Context, req *tfprotov6.ListResourceRequest) (*tfprotov6.ListResourceServerStream, error) {
	ls, ok := s.ProviderServer.(listServer)
	if !ok {
		return nil, errors.New("the provider server has no list resources")
	}
	return ls.ListResource(ctx, req)
}

func (s nullArguments) ValidateListResourceConfig(ctx context.Context, req *tfprotov6.ValidateListResourceConfigRequest) (*tfprotov6.ValidateListResourceConfigResponse, error) {
	ls, ok := s.ProviderServer.(listServer)
	if !ok {
		return nil, errors.New("the provider server has no list resources")
	}
	return ls.ValidateListResourceConfig(ctx, req)
}

func (s nullArguments) CallFunction(ctx context.Context, req *tfprotov6.CallFunctionRequest) (*tfprotov6.CallFunctionResponse, error) {
	for i, arg := range req.Arguments {
		if arg == nil || (len(arg.MsgPack) == 0 && len(arg.JSON) == 0) {
			req.Arguments[i] = &tfprotov6.DynamicValue{MsgPack: []byte{0xc0}}
		}
	}
	return s.ProviderServer.CallFunction(ctx, req)
}
