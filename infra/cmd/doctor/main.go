// Command doctor checks whether a deployment works with each MCP client: it discovers,
// checks and (with -register only) registers as the clients do, prints one row per client
// and step, the reason and fix of each failure and a handoff summary, and exits 1 when a
// client would fail (infra/doctor; docs/doctor.md).
//
//	go run ./infra/cmd/doctor https://auth.example.com/mcp
//	go run ./infra/cmd/doctor -register -register-as vscode http://127.0.0.1:3000/Prod/mcp
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/authbridge/authbridge/infra/doctor"
)

func main() {
	register := flag.Bool("register", false, "send one registration (it cannot be deleted: it stays unused and expires) and one authorization request with PKCE and resource")
	registerAs := flag.String("register-as", "cursor", "the client whose registration -register sends: ts-sdk, python-sdk, chatgpt, claude, cursor, vscode")
	timeout := flag.Duration("timeout", 15*time.Second, "timeout of each request")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: doctor [-register [-register-as CLIENT]] <MCP URL>")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	rep, err := doctor.Run(context.Background(), doctor.Options{MCPURL: flag.Arg(0), HTTP: &http.Client{Timeout: *timeout},
		Out: os.Stdout, Register: *register, RegisterAs: *registerAs})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if rep.Failed() {
		os.Exit(1)
	}
}
