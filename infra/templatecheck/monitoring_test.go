package templatecheck_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation/cloudwatch"

	sam "github.com/authbridge/authbridge/infra/samtemplate"
	"github.com/authbridge/authbridge/shared/obs"
)

// kmsThrottledMetric is the metric infra/monitoring.yaml's log metric filter makes of
// throttled kms:Sign calls (the only Authbridge metric that is not an EMF metric of
// shared/obs).
const kmsThrottledMetric = "KMSSignThrottled"

// obsMetrics are the metric names shared/obs emits (namespace obs.Namespace).
var obsMetrics = []string{
	obs.Registrations, obs.AuthorizationsStarted, obs.AuthorizationsCompleted, obs.AuthorizationsDenied,
	obs.TokensIssued, obs.RefreshTokenReuse, obs.CodeReplay, obs.WorkOSErrors, obs.KMSSignLatency,
	obs.DynamoDBLatency, obs.AuthorizerAllow, obs.AuthorizerDeny, obs.GrantsRevoked,
}

// monitoring loads infra/monitoring.yaml with the parameters template.yaml's Monitoring
// application passes it (the loader's stand-ins for function names, the table, ...).
func monitoring(t *testing.T, s scenario) *sam.Template {
	t.Helper()
	app := s.t.Props("Monitoring")
	if app == nil || app["Location"] != "infra/monitoring.yaml" {
		t.Fatalf("template.yaml must nest infra/monitoring.yaml as Monitoring, got %v", app)
	}
	params := map[string]string{}
	for k, v := range app["Parameters"].(map[string]any) {
		params[k] = tcScalar(v)
	}
	m, err := sam.Load(monitoringPath, params)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func tcScalar(v any) string {
	b, _ := json.Marshal(v)
	var s string
	if json.Unmarshal(b, &s) == nil {
		return s
	}
	return strings.Trim(string(b), `"`)
}

// TestMonitoringWiring: the nested monitoring template gets every function's name from
// the function itself, the API's name and stage, the table and the log groups.
func TestMonitoringWiring(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario) {
		m := monitoring(t, s)
		topic := s.t.Params["AlarmTopicArn"].(string)
		if topic == "" {
			topic = ref(t, s.t, "AlarmTopic")
		}
		want := map[string]any{
			"Prefix": "authbridge", "AlarmTopicArn": topic, "ApiName": "authbridge",
			"StageName": ref(t, s.t, "AuthbridgeApi.Stage"), "TableName": ref(t, s.t, "Table"),
			"FunctionLogGroupName": ref(t, s.t, "FunctionLogGroup"), "AccessLogGroupName": ref(t, s.t, "AccessLogGroup"),
		}
		for id := range functions(s.t) {
			want[id+"Name"] = ref(t, s.t, id)
		}
		if api := s.t.Props("AuthbridgeApi"); api["Name"] != "authbridge" {
			t.Errorf("the API's Name must be the stack name (ApiName dimension), got %v", api["Name"])
		}
		for k, v := range want {
			if m.Params[k] != v {
				t.Errorf("Monitoring parameter %s = %v, want %v", k, m.Params[k], v)
			}
		}
		for k := range m.Params {
			if _, ok := want[k]; !ok && k != "AuthorizerDenyAlarmThreshold" {
				t.Errorf("monitoring.yaml parameter %s is not checked here", k)
			}
		}
	})
}

type alarm struct {
	ID string
	*cloudwatch.Alarm
}

func alarms(m *sam.Template) map[string]alarm {
	out := map[string]alarm{}
	for id, a := range m.CFN.GetAllCloudWatchAlarmResources() {
		out[id] = alarm{id, a}
	}
	return out
}

// metricsOf lists (namespace, name, dimensions) of an alarm's metrics.
func metricsOf(a alarm) [][3]any {
	var out [][3]any
	if a.MetricName != nil {
		dims := map[string]string{}
		for _, d := range a.Dimensions {
			dims[d.Name] = d.Value
		}
		out = append(out, [3]any{*a.Namespace, *a.MetricName, dims})
	}
	for _, q := range a.Metrics {
		if q.MetricStat != nil {
			dims := map[string]string{}
			for _, d := range q.MetricStat.Metric.Dimensions {
				dims[d.Name] = d.Value
			}
			out = append(out, [3]any{*q.MetricStat.Metric.Namespace, *q.MetricStat.Metric.MetricName, dims})
		}
	}
	return out
}

// TestAlarms: the alarms the issue asks for exist, watch the right metrics (shared/obs's
// names for the application's), and notify the topic on ALARM and OK.
func TestAlarms(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario) {
		m := monitoring(t, s)
		as := alarms(m)
		topic := m.Params["AlarmTopicArn"]
		for id, a := range as {
			if !slices.Equal(a.AlarmActions, []string{topic.(string)}) || !slices.Equal(a.OKActions, []string{topic.(string)}) {
				t.Errorf("%s: must notify %v on ALARM and OK", id, topic)
			}
			if a.AlarmDescription == nil || len(*a.AlarmDescription) < 80 {
				t.Errorf("%s: the description must say what it means and what to do", id)
			}
			if a.TreatMissingData == nil || *a.TreatMissingData != "notBreaching" {
				t.Errorf("%s: TreatMissingData must be notBreaching (quiet nights are not incidents)", id)
			}
		}
		fn := func(id string) string { return ref(t, s.t, id) }
		one := func(id, ns, name string, dims map[string]string) {
			t.Helper()
			a, ok := as[id]
			if !ok {
				t.Errorf("no alarm %s", id)
				return
			}
			for _, mt := range metricsOf(a) {
				if mt[0] == ns && mt[1] == name && equalDims(mt[2].(map[string]string), dims) {
					return
				}
			}
			t.Errorf("%s does not watch %s %s %v (it watches %v)", id, ns, name, dims, metricsOf(a))
		}
		one("Api5xxAlarm", "AWS/ApiGateway", "5XXError", map[string]string{"ApiName": "authbridge", "Stage": ref(t, s.t, "AuthbridgeApi.Stage")})
		one("TokenLatencyAlarm", "AWS/Lambda", "Duration", map[string]string{"FunctionName": fn("TokenFunction")})
		one("AuthorizerLatencyAlarm", "AWS/Lambda", "Duration", map[string]string{"FunctionName": fn("AuthorizerFunction")})
		for _, id := range []string{"TokenLatencyAlarm", "AuthorizerLatencyAlarm"} {
			if a := as[id]; a.Alarm != nil && (a.ExtendedStatistic == nil || *a.ExtendedStatistic != "p99") {
				t.Errorf("%s must watch p99", id)
			}
		}
		for id := range functions(s.t) {
			alarmID := strings.TrimSuffix(id, "Function") + "ErrorsAlarm"
			one(alarmID, "AWS/Lambda", "Errors", map[string]string{"FunctionName": fn(id)})
			one(alarmID, "AWS/Lambda", "Throttles", map[string]string{"FunctionName": fn(id)})
		}
		one("RefreshReuseAlarm", obs.Namespace, obs.RefreshTokenReuse, map[string]string{obs.DimFunction: fn("TokenFunction")})
		if a := as["RefreshReuseAlarm"]; a.Alarm != nil && (a.Threshold == nil || *a.Threshold != 0 || a.ComparisonOperator != "GreaterThanThreshold") {
			t.Error("RefreshReuseAlarm must fire on any reuse (> 0)")
		}
		one("KmsThrottleAlarm", obs.Namespace, kmsThrottledMetric, map[string]string{})
		one("DynamoDBThrottleAlarm", "AWS/DynamoDB", "ReadThrottleEvents", map[string]string{"TableName": ref(t, s.t, "Table")})
		one("DynamoDBThrottleAlarm", "AWS/DynamoDB", "WriteThrottleEvents", map[string]string{"TableName": ref(t, s.t, "Table")})

		// The denial spike: a Metrics Insights query summing AuthorizerDeny over every Reason
		// of the authorizer function but missing_token (every client's first request).
		deny := as["AuthorizerDenySpikeAlarm"]
		if deny.Alarm == nil || len(deny.Metrics) != 1 || deny.Metrics[0].Expression == nil {
			t.Fatal("AuthorizerDenySpikeAlarm must be one Metrics Insights query")
		}
		q := *deny.Metrics[0].Expression
		for _, part := range []string{`SUM("` + obs.AuthorizerDeny + `")`, `SCHEMA("` + obs.Namespace + `", "` + obs.DimFunction + `", "` + obs.DimReason + `")`,
			`"` + obs.DimFunction + `" = '` + fn("AuthorizerFunction") + `'`, `"` + obs.DimReason + `" != 'missing_token'`} {
			if !strings.Contains(q, part) {
				t.Errorf("denial query %q lacks %q", q, part)
			}
		}
		if deny.Threshold == nil || *deny.Threshold != s.t.Params["AuthorizerDenyAlarmThreshold"] {
			t.Error("the denial alarm's threshold must be AuthorizerDenyAlarmThreshold")
		}

		// The KMS throttle metric comes from the function log group's filter.
		var filter map[string]any
		for _, f := range sam.Resources(m.Doc, "AWS::Logs::MetricFilter") {
			filter = f["Properties"].(map[string]any)
		}
		if filter == nil || filter["LogGroupName"] != ref(t, s.t, "FunctionLogGroup") || sam.Get(filter["MetricTransformations"].([]any)[0], "MetricName") != kmsThrottledMetric ||
			!strings.Contains(str(filter["FilterPattern"]), "ThrottlingException") || !strings.Contains(str(filter["FilterPattern"]), "kms Sign") {
			t.Errorf("KMS throttling metric filter: %v", filter)
		}
	})
}

func equalDims(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

var searchMetricRE = regexp.MustCompile(`MetricName="([^"]+)"`)

// TestDashboard: the dashboard body is valid JSON once substituted; every Authbridge
// metric it shows is one shared/obs emits (or the KMS throttle filter's), with the
// Function dimension set to one of the stack's functions; it shows every alarm.
func TestDashboard(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario) {
		m := monitoring(t, s)
		body := str(m.Props("Dashboard")["DashboardBody"])
		var dash struct {
			Widgets []struct {
				Type       string
				Properties map[string]any
			}
		}
		if err := json.Unmarshal([]byte(body), &dash); err != nil {
			t.Fatalf("dashboard body is not JSON: %v", err)
		}
		fnNames := map[string]bool{}
		for id := range functions(s.t) {
			fnNames[ref(t, s.t, id)] = true
		}
		known := append(slices.Clone(obsMetrics), kmsThrottledMetric)
		shown := map[string]bool{}
		var alarmsShown []string
		for _, w := range dash.Widgets {
			if w.Type == "alarm" {
				alarmsShown = sam.Strings(w.Properties["alarms"])
			}
			ms, _ := w.Properties["metrics"].([]any)
			for _, raw := range ms {
				row, _ := raw.([]any)
				if len(row) == 0 {
					continue
				}
				if e, ok := row[0].(map[string]any); ok { // an expression (SEARCH, math)
					expr := str(e["expression"])
					if strings.Contains(expr, "{"+obs.Namespace+",") {
						for _, mm := range searchMetricRE.FindAllStringSubmatch(expr, -1) {
							if !slices.Contains(known, mm[1]) {
								t.Errorf("dashboard SEARCH for %s, which shared/obs does not emit", mm[1])
							}
							shown[mm[1]] = true
						}
					}
					continue
				}
				if row[0] != obs.Namespace {
					continue
				}
				name := str(row[1])
				if !slices.Contains(known, name) {
					t.Errorf("dashboard shows %s.%s, which shared/obs does not emit", obs.Namespace, name)
				}
				shown[name] = true
				for i := 2; i+1 < len(row); i += 2 {
					if row[i] == obs.DimFunction && !fnNames[str(row[i+1])] {
						t.Errorf("%s: Function dimension %v is not one of the stack's functions", name, row[i+1])
					}
				}
			}
		}
		for _, name := range obsMetrics {
			if !shown[name] {
				t.Errorf("the dashboard does not show %s", name)
			}
		}
		for id := range alarms(m) {
			if !slices.Contains(alarmsShown, getAtt(t, m, id, "Arn")) {
				t.Errorf("the dashboard's alarm widget lacks %s", id)
			}
		}
		if url := str(sam.Get(m.Doc, "Outputs", "DashboardUrl", "Value")); !strings.Contains(url, "#dashboards:name="+ref(t, m, "Dashboard")) {
			t.Errorf("DashboardUrl %q", url)
		}
	})
}
