package gateway

import (
	"context"
	"encoding/json"
	"fmt"
)

// Invoker runs a function of the template (by logical ID) synchronously, the way API
// Gateway's Lambda integration calls lambda:Invoke: the event goes in, the function's
// result comes out. The handler does not care how functions run (the Runtime Interface
// Emulator in infra/lambdarun, or a fake in tests).
//
// A function that ran and failed (panic, returned error, timeout: Lambda's
// X-Amz-Function-Error) is reported as a *FunctionError; any other error means the
// function could not be invoked at all.
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) ([]byte, error)
}

// InvokerFunc adapts a function to Invoker.
type InvokerFunc func(ctx context.Context, function string, payload []byte) ([]byte, error)

// Invoke calls f.
func (f InvokerFunc) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	return f(ctx, function, payload)
}

// FunctionError is a function's error result: Payload is the error document Lambda
// returns, {"errorMessage": "...", "errorType": "..."}.
type FunctionError struct {
	Function string
	Payload  []byte
}

func (e *FunctionError) doc() (msg, typ string) {
	var d struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if json.Unmarshal(e.Payload, &d) != nil {
		return string(e.Payload), ""
	}
	return d.ErrorMessage, d.ErrorType
}

// Message is the error document's errorMessage ("Unauthorized" from an authorizer that
// refuses a token).
func (e *FunctionError) Message() string { m, _ := e.doc(); return m }

// Type is the error document's errorType.
func (e *FunctionError) Type() string { _, t := e.doc(); return t }

func (e *FunctionError) Error() string {
	msg, typ := e.doc()
	if typ != "" {
		return fmt.Sprintf("function %s failed: %s: %s", e.Function, typ, msg)
	}
	return fmt.Sprintf("function %s failed: %s", e.Function, msg)
}
