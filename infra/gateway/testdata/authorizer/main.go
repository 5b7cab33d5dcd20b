// Command authorizer is a test REQUEST authorizer. It appends every event it receives
// (one JSON line) to $AUTH_LOG and decides by the bearer token's first word:
// allow… (any resource of the stage), narrow… (only this methodArn), deny…, crash…,
// malformed…, badcontext…; anything else is refused with "Unauthorized". An Allow's
// context carries upstream_authorization, as the project's authorizer does for a front
// door (naming the stage variable frontDoor); a Deny's carries required_scope.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func record(ev events.APIGatewayCustomAuthorizerRequestTypeRequest) {
	f, err := os.OpenFile(os.Getenv("AUTH_LOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	b, _ := json.Marshal(ev)
	_, _ = f.Write(append(b, '\n'))
}

func policy(effect, resource string) events.APIGatewayCustomAuthorizerPolicy {
	return events.APIGatewayCustomAuthorizerPolicy{
		Version: "2012-10-17",
		Statement: []events.IAMPolicyStatement{{
			Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{resource},
		}},
	}
}

func handle(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (any, error) {
	record(ev)
	var token string
	for k, v := range ev.Headers {
		if strings.EqualFold(k, "Authorization") {
			token = strings.TrimPrefix(v, "Bearer ")
		}
	}
	// arn:aws:execute-api:region:account:api/stage/METHOD/path -> arn:…:api/stage/*
	parts := strings.SplitN(ev.MethodArn, "/", 3)
	stageWide := parts[0] + "/" + parts[1] + "/*"
	ctxValues := map[string]any{"sub": "user-1", "scope": "mcp:tools", "n": 42, "ok": true,
		"upstream_authorization": "Bearer upstream-assertion-" + ev.StageVariables["frontDoor"]}
	switch {
	case strings.HasPrefix(token, "allow"):
		return events.APIGatewayCustomAuthorizerResponse{PrincipalID: "user-1", PolicyDocument: policy("Allow", stageWide), Context: ctxValues}, nil
	case strings.HasPrefix(token, "narrow"):
		return events.APIGatewayCustomAuthorizerResponse{PrincipalID: "user-1", PolicyDocument: policy("Allow", ev.MethodArn)}, nil
	case strings.HasPrefix(token, "deny"):
		return events.APIGatewayCustomAuthorizerResponse{PrincipalID: "user-1", PolicyDocument: policy("Deny", stageWide),
			Context: map[string]any{"required_scope": "mcp:tools crm:write"}}, nil
	case strings.HasPrefix(token, "crash"):
		panic("authorizer was asked to crash")
	case strings.HasPrefix(token, "malformed"):
		return map[string]any{"principalId": "user-1"}, nil
	case strings.HasPrefix(token, "badcontext"):
		return events.APIGatewayCustomAuthorizerResponse{PrincipalID: "user-1", PolicyDocument: policy("Allow", stageWide),
			Context: map[string]any{"nested": map[string]any{"a": 1}}}, nil
	}
	return nil, errors.New("Unauthorized")
}

func main() {
	lambda.Start(handle)
}
