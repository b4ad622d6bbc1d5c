package kube

import (
	"net/http"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// loggingTransport logs each request at debug level: method, URL, status and
// duration. Headers and bodies are never logged, so tokens never are.
type loggingTransport struct{ next http.RoundTripper }

func newLoggingTransport(next http.RoundTripper) http.RoundTripper {
	return &loggingTransport{next: next}
}

func (t *loggingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	fields := map[string]any{
		"method":      req.Method,
		"url":         req.URL.Redacted(),
		"duration_ms": time.Since(start).Milliseconds(),
	}
	if resp != nil {
		fields["status"] = resp.StatusCode
	}
	if err != nil {
		fields["error"] = err.Error()
	}
	tflog.Debug(req.Context(), "kubernetes API request", fields)
	return resp, err
}
