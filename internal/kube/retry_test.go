package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	configMaps   = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	configMapsGR = configMaps.GroupResource()
)

// fieldManagerConflict is the 409 of a server-side apply that would take
// fields another manager owns.
func fieldManagerConflict() *apierrors.StatusError {
	return apierrors.NewApplyConflict([]metav1.StatusCause{{
		Type:    metav1.CauseTypeFieldManagerConflict,
		Message: `conflict with "kubectl-edit"`,
		Field:   ".data.key",
	}}, `Apply failed with 1 conflict: conflict with "kubectl-edit": .data.key`)
}

func staleResourceVersion() *apierrors.StatusError {
	return apierrors.NewConflict(configMapsGR, "x", errors.New("the object has been modified; please apply your changes to the latest version and try again"))
}

func TestIsTransient(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"stale resourceVersion", staleResourceVersion(), true},
		{"wrapped stale resourceVersion", fmt.Errorf("updating: %w", staleResourceVersion()), true},
		{"field manager conflict", fieldManagerConflict(), false},
		{"409 with another cause", apierrors.NewApplyConflict([]metav1.StatusCause{{Type: metav1.CauseTypeFieldValueInvalid}}, "x"), true},
		{"429", apierrors.NewTooManyRequests("slow down", 1), true},
		{"500", apierrors.NewInternalError(errors.New("boom")), true},
		{"503", apierrors.NewServiceUnavailable("restarting"), true},
		{"504", apierrors.NewTimeoutError("slow", 1), true},
		{"server timeout", apierrors.NewServerTimeout(configMapsGR, "get", 1), true},
		{"502 of an unknown reason", &apierrors.StatusError{ErrStatus: metav1.Status{Code: http.StatusBadGateway, Reason: "BadGateway"}}, true},
		{"400", apierrors.NewBadRequest("no"), false},
		{"401", apierrors.NewUnauthorized("who"), false},
		{"403", apierrors.NewForbidden(configMapsGR, "x", errors.New("no")), false},
		{"404", apierrors.NewNotFound(configMapsGR, "x"), false},
		{"409 already exists", apierrors.NewAlreadyExists(configMapsGR, "x"), false},
		{"422", apierrors.NewInvalid(schema.GroupKind{Kind: "ConfigMap"}, "x", nil), false},
		{"EOF", &url.Error{Op: "Get", URL: "https://k", Err: io.EOF}, true},
		{"unexpected EOF", fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), true},
		{"connection reset", &url.Error{Op: "Patch", URL: "https://k", Err: &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}}, true},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
		{"network timeout", &url.Error{Op: "Get", URL: "https://k", Err: &net.DNSError{Err: "timeout", IsTimeout: true}}, true},
		{"DNS failure", &net.DNSError{Err: "no such host", IsNotFound: true}, false},
		{"other", errors.New("invalid object"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsTransient(tc.err); got != tc.want {
				t.Errorf("IsTransient(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestIsFieldManagerConflict(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"field manager conflict", fieldManagerConflict(), true},
		{"explained by ApplyError", ApplyError("ConfigMap", "default/x", fieldManagerConflict()), true},
		{"stale resourceVersion", staleResourceVersion(), false},
		{"409 with another cause", apierrors.NewApplyConflict([]metav1.StatusCause{{Type: metav1.CauseTypeFieldValueInvalid}}, "x"), false},
		{"not an API error", errors.New("conflict"), false},
		{"nil", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsFieldManagerConflict(tc.err); got != tc.want {
				t.Errorf("IsFieldManagerConflict(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// failing returns an op that returns errs in turn, then the last of them on
// every further call, and a count of its calls.
func failing(errs ...error) (func(context.Context) error, *int) {
	calls := 0
	return func(context.Context) error {
		calls++
		return errs[min(calls, len(errs))-1]
	}, &calls
}

func TestRetryRepeatsTransientErrorsUntilSuccess(t *testing.T) {
	op, calls := failing(apierrors.NewServiceUnavailable("a"), staleResourceVersion(), nil)
	if err := Retry(testContext(t), op); err != nil {
		t.Fatalf("Retry = %v, want nil", err)
	}
	if *calls != 3 {
		t.Errorf("%d calls, want 3", *calls)
	}
}

func TestRetryReturnsOtherErrorsAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"404", apierrors.NewNotFound(configMapsGR, "x")},
		{"403", apierrors.NewForbidden(configMapsGR, "x", errors.New("no"))},
		{"field manager conflict", fieldManagerConflict()},
		{"not an API error", errors.New("invalid object")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op, calls := failing(tc.err)
			if got := Retry(testContext(t), op); got != tc.err {
				t.Errorf("Retry = %v, want %v", got, tc.err)
			}
			if *calls != 1 {
				t.Errorf("%d calls, want 1", *calls)
			}
		})
	}
}

// Retry gives up when the caller's context ends, with both the last error
// and the context's, and backs off meanwhile instead of spinning.
func TestRetryStopsWhenContextEnds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ctx     func(parent context.Context) (context.Context, context.CancelFunc)
		wantErr error
	}{
		{"deadline", func(parent context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(parent, 300*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancel", func(parent context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(parent)
			time.AfterFunc(300*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := tc.ctx(t.Context())
			defer cancel()
			var last error
			calls := 0
			start := time.Now()
			err := Retry(ctx, func(context.Context) error {
				calls++
				last = apierrors.NewInternalError(fmt.Errorf("attempt %d", calls))
				return last
			})
			if elapsed := time.Since(start); elapsed > time.Second {
				t.Errorf("Retry returned after %v, want about 300ms", elapsed)
			}
			if !errors.Is(err, last) || !errors.Is(err, tc.wantErr) {
				t.Errorf("Retry = %v, want it to wrap both %v and %v", err, last, tc.wantErr)
			}
			// Waits of 50-100ms, then 100-200ms, then 200-400ms: 2 or 3 calls in 300ms.
			if calls < 2 || calls > 3 {
				t.Errorf("%d calls in 300ms, want 2 or 3", calls)
			}
		})
	}
}

// A delay the server asks for replaces the backoff: asked to wait 30s, Retry
// makes no second call before the context ends.
func TestRetryWaitsAsLongAsTheServerAsks(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	op, calls := failing(apierrors.NewTooManyRequests("slow down", 30))
	if err := Retry(ctx, op); !errors.Is(err, context.DeadlineExceeded) || !apierrors.IsTooManyRequests(err) {
		t.Errorf("Retry = %v, want the 429 and the deadline", err)
	}
	if *calls != 1 {
		t.Errorf("%d calls, want 1", *calls)
	}
}

// reply is the API server's answer to one attempt.
type reply func(w http.ResponseWriter, r *http.Request)

func statusReply(code int, reason metav1.StatusReason, details *metav1.StatusDetails) reply {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeStatus(w, code, reason, "answered by the test", details)
	}
}

// resetReply drops the connection with a TCP reset instead of answering.
func resetReply(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body) // Unread data would make the reset race with the request.
	hj, ok := w.(http.Hijacker)
	if !ok {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "the test server cannot hijack", nil)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error(), nil)
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0) // Close sends RST, not FIN.
	}
	_ = conn.Close()
}

func okReply(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, object("v1", "ConfigMap", "default", "x", nil).Object)
}

// scriptedAPI answers the attempts on one object with the replies in order,
// then with the object, and counts the attempts.
func scriptedAPI(replies ...reply) (http.Handler, *atomic.Int32) {
	var attempts atomic.Int32
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/namespaces/default/configmaps/x" {
			http.NotFound(w, r)
			return
		}
		n := int(attempts.Add(1))
		if n > len(replies) {
			okReply(w, r)
			return
		}
		replies[n-1](w, r)
	}), &attempts
}

// Client.Get and Client.Apply retry what is transient, through client-go,
// and return the rest at once.
func TestClientRetriesTransientResponses(t *testing.T) {
	var (
		conflict   = statusReply(http.StatusConflict, metav1.StatusReasonConflict, &metav1.StatusDetails{Name: "x", Kind: "configmaps"})
		fmConflict = statusReply(http.StatusConflict, metav1.StatusReasonConflict, &metav1.StatusDetails{Causes: []metav1.StatusCause{
			{Type: metav1.CauseTypeFieldManagerConflict, Message: `conflict with "kubectl-edit"`, Field: ".data.key"},
		}})
		tooMany = func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "1")
			writeStatus(w, http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests, "slow down", &metav1.StatusDetails{RetryAfterSeconds: 1})
		}
		internal    = statusReply(http.StatusInternalServerError, metav1.StatusReasonInternalError, nil)
		unavailable = statusReply(http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, nil)
		notFound    = statusReply(http.StatusNotFound, metav1.StatusReasonNotFound, nil)
		forbidden   = statusReply(http.StatusForbidden, metav1.StatusReasonForbidden, nil)
	)
	for _, tc := range []struct {
		name       string
		op         string // "get" or "apply"
		replies    []reply
		attempts   int32
		wantErr    func(error) bool // nil: success
		minElapsed time.Duration
	}{
		{name: "409 stale resourceVersion", op: "apply", replies: []reply{conflict}, attempts: 2},
		// client-go's rest client itself waits out a Retry-After header and
		// resends; TestRetryWaitsAsLongAsTheServerAsks covers Retry's own wait.
		{name: "429 with Retry-After", op: "get", replies: []reply{tooMany}, attempts: 2, minElapsed: 900 * time.Millisecond},
		{name: "500", op: "get", replies: []reply{internal}, attempts: 2},
		{name: "503 twice", op: "apply", replies: []reply{unavailable, unavailable}, attempts: 3},
		{name: "connection reset", op: "apply", replies: []reply{resetReply}, attempts: 2},
		{name: "field manager conflict", op: "apply", replies: []reply{fmConflict}, attempts: 1, wantErr: IsFieldManagerConflict},
		{name: "404 apply", op: "apply", replies: []reply{notFound}, attempts: 1, wantErr: apierrors.IsNotFound},
		{name: "403 get", op: "get", replies: []reply{forbidden}, attempts: 1, wantErr: apierrors.IsForbidden},
		{name: "403 apply", op: "apply", replies: []reply{forbidden}, attempts: 1, wantErr: apierrors.IsForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, attempts := scriptedAPI(tc.replies...)
			c := newTestClient(t, h)
			ctx := testContext(t)
			start := time.Now()
			var err error
			switch tc.op {
			case "get":
				_, err = c.Get(ctx, configMaps, "default", "x")
			case "apply":
				_, err = c.Apply(ctx, configMaps, object("v1", "ConfigMap", "default", "x", nil))
			}
			elapsed := time.Since(start)

			switch {
			case tc.wantErr == nil && err != nil:
				t.Errorf("%s: %v, want success", tc.op, err)
			case tc.wantErr != nil && (err == nil || !tc.wantErr(err)):
				t.Errorf("%s: %v, want an error of the kind the server answered", tc.op, err)
			}
			if n := attempts.Load(); n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
			if elapsed < tc.minElapsed {
				t.Errorf("%s returned after %v, want at least %v (Retry-After)", tc.op, elapsed, tc.minElapsed)
			}
		})
	}
}

// Client.Get of an object that does not exist is (nil, nil), after one attempt.
func TestClientGetMissing(t *testing.T) {
	h, attempts := scriptedAPI(statusReply(http.StatusNotFound, metav1.StatusReasonNotFound, nil))
	c := newTestClient(t, h)
	o, err := c.Get(testContext(t), configMaps, "default", "x")
	if o != nil || err != nil {
		t.Errorf("Get = %v, %v; want nil, nil", o, err)
	}
	if n := attempts.Load(); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}
