package flexhook_test

// Tests in this file check the observability part of template.yaml — the
// X-Ray tracing switch, the CloudWatch alarms with their runbook entries in
// docs/operations.md, and the dashboard — against the metric names the code
// emits (internal/metrics). They reuse the node-tree helpers of
// template_test.go.
//
// References:
//   - https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudwatch-alarm.html
//   - https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudwatch-dashboard.html
//   - https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html
//   - https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html
//   - https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
//   - https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html#sam-function-tracing

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/flexhook/flexhook/internal/metrics"
)

const (
	typeAlarm        = "AWS::CloudWatch::Alarm"
	typeDashboard    = "AWS::CloudWatch::Dashboard"
	tracingParameter = "Tracing"
	alarmTopicParam  = "AlarmTopicArn"
	alarmTopicCond   = "HasAlarmTopic"
	operationsDoc    = "docs/operations.md"
)

// outcomes are the Outcome dimension values the webhook emits; the webhook
// package's metric tests produce each of them.
var outcomes = []string{
	"closed", "already_closed", "ignored", "skipped_live_task", "not_found",
	"rejected_auth", "invalid", "failed_transient", "failed_permanent",
}

func TestTemplateTracingSwitch(t *testing.T) {
	tpl := loadRawTemplate(t)
	path := join("Resources", webhookFunction, "Properties", "Tracing")
	if r, ok := refName(tpl.get(path)); !ok || r != tracingParameter {
		t.Errorf("%s = %v, want !Ref %s", path, tpl.get(path), tracingParameter)
	}
	allowed, _ := literals(tpl.get(join("Parameters", tracingParameter, "AllowedValues")))
	if !slices.Equal(allowed, []string{"Active", "PassThrough"}) {
		t.Errorf("%s AllowedValues = %v, want [Active PassThrough]", tracingParameter, allowed)
	}
	// Off unless asked for: tracing costs nothing by default.
	if d := scalar(tpl.get(join("Parameters", tracingParameter, "Default"))); d != "PassThrough" {
		t.Errorf("%s Default = %q, want PassThrough", tracingParameter, d)
	}
}

// dim is an expected alarm dimension: a literal value, a !Ref, or (with
// cond) !If [cond, !Ref ref, value].
type dim struct {
	name, value, ref string
	cond             string
}

// wantAlarm is what one alarm must watch.
type wantAlarm struct {
	id         string
	namespace  string // empty for a metric math alarm
	metric     string
	dims       []dim
	stat       string
	comparison string
	threshold  string
	runbook    string // anchor in docs/operations.md
	// dimsElsewhere: the dimensions are intrinsics checked by another
	// test (the DLQ alarm's !If, see TestTemplateDurableResources).
	dimsElsewhere bool
}

func wantAlarms() []wantAlarm {
	flexhook := func(outcome string) []dim {
		// The EMF Function dimension is the Lambda function name
		// (AWS_LAMBDA_FUNCTION_NAME), so two stacks never share an alarm.
		return []dim{{name: "Function", ref: webhookFunction}, {name: "Outcome", value: outcome}}
	}
	fn := []dim{{name: "FunctionName", ref: webhookFunction}}
	worker := []dim{{name: "Function", cond: queueCondition, ref: workerFunction, value: "none"}, {name: "Outcome", value: "failed_permanent"}}
	return []wantAlarm{
		{id: "CloseDeadLetterQueueAlarm", namespace: "AWS/SQS", metric: "ApproximateNumberOfMessagesVisible",
			stat: "Maximum", comparison: "GreaterThanThreshold", threshold: "0", runbook: "close-dlq-depth", dimsElsewhere: true},
		{id: "WorkerFailedPermanentAlarm", namespace: metrics.Namespace, metric: metrics.MetricRequests, dims: worker,
			stat: "Sum", comparison: "GreaterThanOrEqualToThreshold", threshold: "1", runbook: "worker-failed-permanent"},
		{id: "Webhook5xxRateAlarm", comparison: "GreaterThanThreshold", threshold: "5", runbook: "webhook-5xx-rate"},
		{id: "WebhookFailedTransientAlarm", namespace: metrics.Namespace, metric: metrics.MetricRequests, dims: flexhook("failed_transient"),
			stat: "Sum", comparison: "GreaterThanOrEqualToThreshold", threshold: "10", runbook: "webhook-failed-transient"},
		{id: "WebhookFailedPermanentAlarm", namespace: metrics.Namespace, metric: metrics.MetricRequests, dims: flexhook("failed_permanent"),
			stat: "Sum", comparison: "GreaterThanOrEqualToThreshold", threshold: "1", runbook: "webhook-failed-permanent"},
		{id: "WebhookThrottlesAlarm", namespace: "AWS/Lambda", metric: "Throttles", dims: fn,
			stat: "Sum", comparison: "GreaterThanOrEqualToThreshold", threshold: "1", runbook: "webhook-throttles"},
		{id: "WebhookErrorsAlarm", namespace: "AWS/Lambda", metric: "Errors", dims: fn,
			stat: "Sum", comparison: "GreaterThanOrEqualToThreshold", threshold: "1", runbook: "webhook-errors"},
	}
}

// checkDimensions compares an alarm's Dimensions list with want.
func checkDimensions(path string, n *yaml.Node, want []dim) []string {
	var bad []string
	if n == nil || n.Kind != yaml.SequenceNode || len(n.Content) != len(want) {
		return []string{fmt.Sprintf("%s: want %d dimensions", path, len(want))}
	}
	for i, w := range want {
		d := n.Content[i]
		if got := scalar(child(d, "Name")); got != w.name {
			bad = append(bad, fmt.Sprintf("%s.%d.Name = %q, want %q", path, i, got, w.name))
		}
		v := child(d, "Value")
		if w.cond != "" {
			name, arg, ok := intrinsic(v)
			if !ok || name != "Fn::If" || arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 || scalar(arg.Content[0]) != w.cond {
				bad = append(bad, fmt.Sprintf("%s.%d.Value: want !If [%s, !Ref %s, %s]", path, i, w.cond, w.ref, w.value))
				continue
			}
			if r, _ := refName(arg.Content[1]); r != w.ref || scalar(arg.Content[2]) != w.value {
				bad = append(bad, fmt.Sprintf("%s.%d.Value: want !If [%s, !Ref %s, %s]", path, i, w.cond, w.ref, w.value))
			}
		} else if w.ref != "" {
			if r, _ := refName(v); r != w.ref {
				bad = append(bad, fmt.Sprintf("%s.%d.Value: want !Ref %s", path, i, w.ref))
			}
		} else if got := scalar(v); got != w.value {
			bad = append(bad, fmt.Sprintf("%s.%d.Value = %q, want %q", path, i, got, w.value))
		}
	}
	return bad
}

// isTopicAction reports whether n is !If [HasAlarmTopic, [!Ref
// AlarmTopicArn], !Ref AWS::NoValue].
func isTopicAction(n *yaml.Node) bool {
	name, arg, ok := intrinsic(n)
	if !ok || name != "Fn::If" || arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 || scalar(arg.Content[0]) != alarmTopicCond {
		return false
	}
	then := arg.Content[1]
	if then.Kind != yaml.SequenceNode || len(then.Content) != 1 {
		return false
	}
	topic, _ := refName(then.Content[0])
	none, _ := refName(arg.Content[2])
	return topic == alarmTopicParam && none == "AWS::NoValue"
}

// markdownAnchors returns the GitHub anchors of a Markdown file's headings.
func markdownAnchors(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	var out []string
	drop := regexp.MustCompile(`[^a-z0-9 _-]`)
	for _, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "#"); ok {
			h = strings.TrimSpace(strings.TrimLeft(h, "#"))
			out = append(out, strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(h), ""), " ", "-"))
		}
	}
	return out
}

func TestTemplateAlarms(t *testing.T) {
	tpl := loadRawTemplate(t)
	anchors := markdownAnchors(t, operationsDoc)
	want := wantAlarms()
	var ids []string
	for _, w := range want {
		ids = append(ids, w.id)
	}
	if got := tpl.resourcesOfType(typeAlarm); !slices.Equal(got, ids) {
		t.Errorf("alarms = %v, want %v (every alarm needs a row here and a runbook entry)", got, ids)
	}
	for _, w := range want {
		t.Run(w.id, func(t *testing.T) {
			p := join("Resources", w.id, "Properties")
			if tpl.resourceType(w.id) != typeAlarm {
				t.Fatalf("%s is not an %s", w.id, typeAlarm)
			}
			if w.namespace != "" {
				for k, v := range map[string]string{"Namespace": w.namespace, "MetricName": w.metric, "Statistic": w.stat} {
					if got := scalar(tpl.get(join(p, k))); got != v {
						t.Errorf("%s.%s = %q, want %q", p, k, got, v)
					}
				}
				if !w.dimsElsewhere {
					for _, b := range checkDimensions(join(p, "Dimensions"), tpl.get(join(p, "Dimensions")), w.dims) {
						t.Error(b)
					}
				}
			}
			for k, v := range map[string]string{"ComparisonOperator": w.comparison, "Threshold": w.threshold, "TreatMissingData": "notBreaching"} {
				if got := scalar(tpl.get(join(p, k))); got != v {
					t.Errorf("%s.%s = %q, want %q", p, k, got, v)
				}
			}
			for _, k := range []string{"AlarmActions", "OKActions"} {
				if !isTopicAction(tpl.get(join(p, k))) {
					t.Errorf("%s.%s: want !If [%s, [!Ref %s], !Ref AWS::NoValue]", p, k, alarmTopicCond, alarmTopicParam)
				}
			}
			if name, _, _ := subTemplate(tpl.get(join(p, "AlarmName"))); !strings.HasPrefix(name, "${AWS::StackName}-") {
				t.Errorf("%s.AlarmName = !Sub %q, want it to start with ${AWS::StackName}-", p, name)
			}
			desc := scalar(tpl.get(join(p, "AlarmDescription")))
			if !strings.Contains(desc, operationsDoc+"#"+w.runbook) {
				t.Errorf("%s.AlarmDescription does not point at %s#%s", p, operationsDoc, w.runbook)
			}
			if !slices.Contains(anchors, w.runbook) {
				t.Errorf("%s has no heading for the runbook entry #%s", operationsDoc, w.runbook)
			}
		})
	}
	checkTopicCondition(t, tpl)
}

// The 5xx alarm is a rate: API Gateway's 5xx over Count for the HTTP API.
func TestTemplate5xxRateAlarm(t *testing.T) {
	tpl := loadRawTemplate(t)
	p := "Resources.Webhook5xxRateAlarm.Properties.Metrics"
	ms := tpl.get(p)
	if ms == nil || ms.Kind != yaml.SequenceNode {
		t.Fatalf("%s: want a metric math list", p)
	}
	stats := map[string]string{}
	var expr string
	returned := 0
	for i, m := range ms.Content {
		mp := join(p, fmt.Sprint(i))
		if scalar(child(m, "ReturnData")) == "true" {
			returned++
			expr = scalar(child(m, "Expression"))
			continue
		}
		metric := lookup(m, "MetricStat.Metric")
		if ns := scalar(child(metric, "Namespace")); ns != "AWS/ApiGateway" {
			t.Errorf("%s namespace = %q, want AWS/ApiGateway", mp, ns)
		}
		for _, b := range checkDimensions(join(mp, "MetricStat.Metric.Dimensions"), child(metric, "Dimensions"), []dim{{name: "ApiId", ref: httpAPI}}) {
			t.Error(b)
		}
		if s := scalar(lookup(m, "MetricStat.Stat")); s != "Sum" {
			t.Errorf("%s stat = %q, want Sum", mp, s)
		}
		stats[scalar(child(m, "Id"))] = scalar(child(metric, "MetricName"))
	}
	if returned != 1 || stats["errors"] != "5xx" || stats["requests"] != "Count" {
		t.Errorf("%s = %v with %d returned, want errors=5xx and requests=Count and one expression", p, stats, returned)
	}
	if !strings.Contains(expr, "100 * errors / requests") {
		t.Errorf("%s expression = %q, want the percentage 100 * errors / requests", p, expr)
	}
}

// checkTopicCondition checks HasAlarmTopic is true exactly when the topic
// parameter is set.
func checkTopicCondition(t *testing.T, tpl rawTemplate) {
	t.Helper()
	name, not, ok := intrinsic(tpl.get(join("Conditions", alarmTopicCond)))
	if ok && name == "Fn::Not" && len(not.Content) == 1 {
		if n, eq, ok := intrinsic(not.Content[0]); ok && n == "Fn::Equals" && len(eq.Content) == 2 {
			if r, _ := refName(eq.Content[0]); r == alarmTopicParam && scalar(eq.Content[1]) == "" {
				return
			}
		}
	}
	t.Errorf("Conditions.%s: want !Not [!Equals [!Ref %s, \"\"]]", alarmTopicCond, alarmTopicParam)
}

// The durable mode's dead-letter queue, once the template has it, needs
// an alarm on its depth.
func TestTemplateDLQAlarm(t *testing.T) {
	tpl := loadRawTemplate(t)
	const dlq = "CloseDeadLetterQueue"
	if !tpl.has("Resources", dlq) {
		t.Skipf("%s is not in the template yet (durable mode); its depth alarm comes with it", dlq)
	}
	for _, id := range tpl.resourcesOfType(typeAlarm) {
		p := join("Resources", id, "Properties")
		if scalar(tpl.get(join(p, "MetricName"))) != "ApproximateNumberOfMessagesVisible" {
			continue
		}
		found := false
		walk(tpl.get(join(p, "Dimensions")), "", func(_ string, n *yaml.Node) {
			if name, arg, ok := intrinsic(n); ok && name == "Fn::GetAtt" && strings.HasPrefix(scalar(arg), dlq+".") {
				found = true
			}
		})
		if found {
			return
		}
	}
	t.Errorf("no alarm watches ApproximateNumberOfMessagesVisible of %s", dlq)
}

// dashboardMetrics expands a dashboard's metric arrays, whose "." repeats
// the value above and "..." the leading values above, into full
// [namespace, name, dim, value, ...] lists without the options object.
func dashboardMetrics(raw []any) [][]string {
	var out [][]string
	var prev []string
	for _, m := range raw {
		arr, _ := m.([]any)
		var cur []string
		for _, v := range arr {
			if s, ok := v.(string); ok {
				cur = append(cur, s)
			}
		}
		if len(cur) > 0 && cur[0] == "..." {
			rest := cur[1:]
			cur = append(slices.Clone(prev[:max(0, len(prev)-len(rest))]), rest...)
		} else {
			for i, s := range cur {
				if s == "." && i < len(prev) {
					cur[i] = prev[i]
				}
			}
		}
		out = append(out, cur)
		prev = cur
	}
	return out
}

func TestTemplateDashboard(t *testing.T) {
	tpl := loadRawTemplate(t)
	ids := tpl.resourcesOfType(typeDashboard)
	if len(ids) != 1 {
		t.Fatalf("dashboards = %v, want one", ids)
	}
	body, _, ok := subTemplate(tpl.get(join("Resources", ids[0], "Properties", "DashboardBody")))
	if !ok {
		t.Fatal("DashboardBody: want !Sub of the dashboard JSON")
	}
	// Substitute each ${…} with a placeholder to read the JSON.
	vars := regexp.MustCompile(`\$\{([^}]+)\}`)
	var alarmRefs []string
	doc := vars.ReplaceAllStringFunc(body, func(v string) string {
		name := v[2 : len(v)-1]
		if res, ok := strings.CutSuffix(name, ".Arn"); ok {
			alarmRefs = append(alarmRefs, res)
		}
		return "sub:" + name
	})
	var dash struct {
		Widgets []struct {
			Type       string `json:"type"`
			Properties struct {
				Title   string `json:"title"`
				Alarms  []string
				Metrics []any `json:"metrics"`
				Region  string
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(doc), &dash); err != nil {
		t.Fatalf("DashboardBody is not JSON: %v\n%s", err, doc)
	}
	if !slices.Equal(alarmRefs, tpl.resourcesOfType(typeAlarm)) {
		t.Errorf("the dashboard shows alarms %v, want every alarm %v", alarmRefs, tpl.resourcesOfType(typeAlarm))
	}
	seen := map[string]bool{} // namespace/metric
	outcomeSeen := map[string]bool{}
	for _, w := range dash.Widgets {
		if w.Type != "metric" {
			continue
		}
		if w.Properties.Region != "sub:AWS::Region" {
			t.Errorf("widget %q region = %q, want ${AWS::Region}", w.Properties.Title, w.Properties.Region)
		}
		for _, m := range dashboardMetrics(w.Properties.Metrics) {
			if len(m) < 4 || len(m)%2 != 0 {
				t.Errorf("widget %q metric %v: want namespace, name and dimension pairs", w.Properties.Title, m)
				continue
			}
			seen[m[0]+"/"+m[1]] = true
			switch m[0] {
			case metrics.Namespace:
				if m[2] != "Function" || m[3] != "sub:"+webhookFunction {
					t.Errorf("widget %q metric %v: want Function ${%s} first", w.Properties.Title, m, webhookFunction)
				}
				if m[1] == metrics.MetricRequests && len(m) == 6 && m[4] == "Outcome" {
					outcomeSeen[m[5]] = true
				}
			case "AWS/ApiGateway":
				if m[2] != "ApiId" || m[3] != "sub:"+httpAPI {
					t.Errorf("widget %q metric %v: want ApiId ${%s}", w.Properties.Title, m, httpAPI)
				}
			case "AWS/Lambda":
				if m[2] != "FunctionName" || m[3] != "sub:"+webhookFunction {
					t.Errorf("widget %q metric %v: want FunctionName ${%s}", w.Properties.Title, m, webhookFunction)
				}
			default:
				t.Errorf("widget %q metric %v: unexpected namespace", w.Properties.Title, m)
			}
		}
	}
	for _, name := range []string{metrics.MetricRequests, metrics.MetricLatency, metrics.MetricFlexLatency,
		metrics.MetricFlexAttempts, metrics.MetricFlexRetries, metrics.MetricColdStart} {
		if !seen[metrics.Namespace+"/"+name] {
			t.Errorf("the dashboard does not show %s/%s", metrics.Namespace, name)
		}
	}
	for _, o := range outcomes {
		if !outcomeSeen[o] {
			t.Errorf("the dashboard's requests by outcome lack %q", o)
		}
	}
	for _, m := range []string{"AWS/ApiGateway/5xx", "AWS/ApiGateway/Count", "AWS/Lambda/Errors", "AWS/Lambda/Throttles", "AWS/Lambda/Duration"} {
		if !seen[m] {
			t.Errorf("the dashboard does not show %s", m)
		}
	}
}
