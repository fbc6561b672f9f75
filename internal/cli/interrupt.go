package cli

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
)

// signalled is the cause of a context that a signal cancelled.
type signalled struct{ sig os.Signal }

func (s *signalled) Error() string { return "interrupted by " + s.sig.String() }

// code is the shell's convention: 128 + the signal number (130 for
// SIGINT, 143 for SIGTERM).
func (s *signalled) code() int {
	if n, ok := s.sig.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return ExitInterrupted
}

func (s *signalled) message() string {
	if s.sig == syscall.SIGTERM {
		return "terminated"
	}
	return "interrupted"
}

// interruptContext is cancelled by the first SIGINT or SIGTERM, with that
// signal as its cause. The handler is then removed, so a second Ctrl-C
// ends tipctl at once.
func interruptContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			signal.Stop(ch)
			cancel(&signalled{sig})
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		signal.Stop(ch)
		cancel(nil)
	}
}

// interrupted reports whether ctx ended because of a signal (or was
// cancelled by the caller, which tests use as Ctrl-C).
func interrupted(ctx context.Context) (*signalled, bool) {
	if ctx.Err() == nil {
		return nil, false
	}
	var s *signalled
	if errors.As(context.Cause(ctx), &s) {
		return s, true
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return &signalled{os.Interrupt}, true
	}
	return nil, false
}
