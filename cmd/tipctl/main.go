// Command tipctl: trusted identity propagation for AWS in one command.
package main

import (
	"os"

	"github.com/tipctl/tipctl/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
