//go:build !unix

package cli

import "os"

// forwardedSignals are passed on to a command run by exec or serve --exec.
var forwardedSignals = []os.Signal{os.Interrupt}

// deliveredByTerminal: a console Ctrl-C reaches every process attached to
// the console, the command included.
func deliveredByTerminal(sig os.Signal) bool { return sig == os.Interrupt }
