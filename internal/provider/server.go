package provider

import (
	"context"

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
// It forwards the methods of tfprotov6.ProviderServer only: a list resource
// (an optional interface today) needs its methods forwarded here too.
type nullArguments struct {
	tfprotov6.ProviderServer
}

func (s nullArguments) CallFunction(ctx context.Context, req *tfprotov6.CallFunctionRequest) (*tfprotov6.CallFunctionResponse, error) {
	for i, arg := range req.Arguments {
		if arg == nil || (len(arg.MsgPack) == 0 && len(arg.JSON) == 0) {
			req.Arguments[i] = &tfprotov6.DynamicValue{MsgPack: []byte{0xc0}}
		}
	}
	return s.ProviderServer.CallFunction(ctx, req)
}
