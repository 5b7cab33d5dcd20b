// Command fn is a test Lambda for the runner: {"action": "env"|"sleep"|"panic"|"error"|
// "print"|"exit", "ms": N}. It answers with its pid (and environment for "env").
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Action string `json:"action"`
	MS     int    `json:"ms"`
}

type result struct {
	PID int               `json:"pid"`
	Env map[string]string `json:"env,omitempty"`
}

func handle(ctx context.Context, ev event) (*result, error) {
	switch ev.Action {
	case "sleep":
		time.Sleep(time.Duration(ev.MS) * time.Millisecond)
	case "panic":
		panic("fn was asked to panic")
	case "error":
		return nil, errors.New("boom")
	case "print":
		fmt.Println("hello from fn")
		fmt.Fprintln(os.Stderr, "and from stderr")
	case "exit":
		os.Exit(3)
	case "env":
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		return &result{PID: os.Getpid(), Env: env}, nil
	}
	return &result{PID: os.Getpid()}, nil
}

func main() {
	lambda.Start(handle)
}
