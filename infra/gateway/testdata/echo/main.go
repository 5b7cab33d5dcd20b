// Command echo is a test Lambda behind the gateway emulator. It answers with the event it
// received, unless the path (the {proxy+} of /echo/{proxy+}) asks for something else:
// panic, sleep?ms=N, malformed, bad-body, binary, status/<code>, env.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	action := ev.PathParameters["proxy"]
	switch {
	case action == "panic":
		panic("echo was asked to panic")
	case action == "sleep":
		ms, _ := strconv.Atoi(ev.QueryStringParameters["ms"])
		time.Sleep(time.Duration(ms) * time.Millisecond)
	case action == "malformed":
		return "not a proxy response", nil
	case action == "bad-body":
		return map[string]any{"statusCode": 200, "body": map[string]int{"x": 1}}, nil
	case action == "binary":
		return events.APIGatewayProxyResponse{StatusCode: 200, IsBase64Encoded: true,
			Headers: map[string]string{"Content-Type": "image/png"},
			Body:    base64.StdEncoding.EncodeToString([]byte{0x89, 'P', 'N', 'G', 0, 0xff})}, nil
	case strings.HasPrefix(action, "status/"):
		code, _ := strconv.Atoi(strings.TrimPrefix(action, "status/"))
		return events.APIGatewayProxyResponse{StatusCode: code, Body: "status"}, nil
	case action == "env":
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		b, _ := json.Marshal(env)
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: string(b)}, nil
	}
	body, _ := json.Marshal(map[string]any{"event": raw, "pid": os.Getpid()})
	return events.APIGatewayProxyResponse{
		StatusCode:        200,
		Headers:           map[string]string{"Content-Type": "application/json", "X-Echo": "1"},
		MultiValueHeaders: map[string][]string{"Set-Cookie": {"a=1", "b=2"}},
		Body:              string(body),
	}, nil
}

func main() {
	lambda.Start(handle)
}
