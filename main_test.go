package main

import (
	"maps"
	"testing"
)

func TestSilenceUnreadLogs(t *testing.T) {
	off := map[string]string{"TF_LOG_SDK": "off", "TF_LOG_SDK_PROTO": "off", "TF_LOG_SDK_FRAMEWORK": "off"}
	for _, tc := range []struct {
		name      string
		env, want map[string]string
	}{
		{"no log level: the SDK's logs are off", map[string]string{}, off},
		{"an empty TF_LOG is no level", map[string]string{"TF_LOG": ""}, merge(off, map[string]string{"TF_LOG": ""})},
		{"TF_LOG: Terraform shows them", map[string]string{"TF_LOG": "trace"}, map[string]string{"TF_LOG": "trace"}},
		{"TF_LOG_PROVIDER: Terraform shows them", map[string]string{"TF_LOG_PROVIDER": "debug"}, map[string]string{"TF_LOG_PROVIDER": "debug"}},
		{"a level set for the SDK is kept", map[string]string{"TF_LOG_SDK_FRAMEWORK": "trace"},
			merge(off, map[string]string{"TF_LOG_SDK_FRAMEWORK": "trace"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := maps.Clone(tc.env)
			silenceUnreadLogs(func(k string) (string, bool) { v, ok := env[k]; return v, ok },
				func(k, v string) error { env[k] = v; return nil })
			if !maps.Equal(env, tc.want) {
				t.Errorf("environment = %v, want %v", env, tc.want)
			}
		})
	}
}

func merge(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}
