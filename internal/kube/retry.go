package kube

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Backoff bounds of Retry.
const (
	retryFirstDelay = 100 * time.Millisecond
	retryMaxDelay   = 5 * time.Second
)

// Retry runs op until it succeeds, fails with an error that is not
// transient, or ctx ends (the resource's timeout). Transient errors are
// resourceVersion conflicts, 429 (honouring Retry-After), 5xx, timeouts and
// dropped connections. ops must be idempotent.
func Retry(ctx context.Context, op func(context.Context) error) error {
	delay := retryFirstDelay
	for {
		err := op(ctx)
		if err == nil || !IsTransient(err) {
			return err
		}
		wait := delay/2 + rand.N(delay/2+1) // jitter: [delay/2, delay]
		if s, ok := apierrors.SuggestsClientDelay(err); ok && s > 0 {
			wait = time.Duration(s) * time.Second
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		delay = min(delay*2, retryMaxDelay)
	}
}

// IsTransient reports whether err is worth retrying.
func IsTransient(err error) bool {
	switch {
	case err == nil:
		return false
	case apierrors.IsConflict(err):
		// A field-manager conflict of server-side apply is a real conflict
		// with another tool; only stale resourceVersions are retried.
		return !IsFieldManagerConflict(err)
	case apierrors.IsTooManyRequests(err), apierrors.IsServerTimeout(err), apierrors.IsTimeout(err),
		apierrors.IsServiceUnavailable(err), apierrors.IsInternalError(err):
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Code >= 500
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

// IsFieldManagerConflict reports whether err is a server-side apply conflict
// with another field manager.
func IsFieldManagerConflict(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Details == nil {
		return false
	}
	for _, c := range status.Status().Details.Causes {
		if c.Type == metav1.CauseTypeFieldManagerConflict {
			return true
		}
	}
	return false
}
