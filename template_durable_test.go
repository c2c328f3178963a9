package flexhook_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/flexhook/flexhook/internal/config"
)

// Durable delivery resources: the idempotency table, the FIFO close queue and
// its dead-letter queue, the worker behind it, the sweeper, and the DLQ alarm.

const (
	idempotencyTable = "IdempotencyTable"
	closeQueue       = "CloseQueue"
	closeDLQ         = "CloseDeadLetterQueue"
	workerFunction   = "WorkerFunction"
	sweeperFunction  = "SweeperFunction"
	queueCondition   = "IsQueueMode"
)

// getAttName returns "Resource.Attribute" of !GetAtt Resource.Attribute or
// its long and list forms.
func getAttName(n *yaml.Node) (string, bool) {
	name, arg, ok := intrinsic(n)
	if !ok || name != "Fn::GetAtt" {
		return "", false
	}
	if arg.Kind == yaml.SequenceNode && len(arg.Content) == 2 {
		return scalar(arg.Content[0]) + "." + scalar(arg.Content[1]), true
	}
	return literal(arg)
}

// webhookResourceEnv are the webhook variables that come from resources
// rather than parameters, with the intrinsic each must be.
func webhookResourceEnv() map[string]string {
	return map[string]string{
		"CLOSE_QUEUE_URL":   `!If [IsQueueMode, !Ref CloseQueue, ""]`,
		"IDEMPOTENCY_TABLE": "!Ref IdempotencyTable",
	}
}

// policyDoc is one expected extra policy document of a function: its
// statements, and the condition it is wrapped in (!If [cond, doc,
// AWS::NoValue]), if any.
type policyDoc struct {
	condition  string
	statements []statementSpec
}

func tableStatement() statementSpec {
	return statementSpec{actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
		resourceAtt: idempotencyTable + ".Arn"}
}

// checkExtraPolicies checks a function's policy documents after the secret's
// first one: exactly want, in order.
func checkExtraPolicies(tpl rawTemplate, fn string, want []policyDoc) []finding {
	base := join("Resources", fn, "Properties", "Policies")
	policies := tpl.get(base)
	if policies == nil || policies.Kind != yaml.SequenceNode || len(policies.Content) != 1+len(want) {
		return []finding{{rulePolicy, base, fmt.Sprintf("want the secret's document and %d more", len(want))}}
	}
	var fs []finding
	for i, w := range want {
		path := join(base, fmt.Sprint(i+1))
		doc := policies.Content[i+1]
		if w.condition != "" {
			name, arg, ok := intrinsic(doc)
			if !ok || name != "Fn::If" || len(arg.Content) != 3 || scalar(arg.Content[0]) != w.condition {
				fs = append(fs, finding{rulePolicy, path, "want !If [" + w.condition + ", document, !Ref AWS::NoValue]"})
				continue
			}
			if r, _ := refName(arg.Content[2]); r != "AWS::NoValue" {
				fs = append(fs, finding{rulePolicy, join(path, "2"), "the else branch must be !Ref AWS::NoValue"})
			}
			doc, path = arg.Content[1], join(path, "1")
		}
		stmts := child(doc, "Statement")
		if scalar(child(doc, "Version")) != "2012-10-17" || stmts == nil || len(stmts.Content) != len(w.statements) {
			fs = append(fs, finding{rulePolicy, path, fmt.Sprintf("want Version 2012-10-17 and %d statements", len(w.statements))})
			continue
		}
		for j, spec := range w.statements {
			fs = append(fs, checkStatement(join(path, "Statement", fmt.Sprint(j)), stmts.Content[j], spec)...)
		}
	}
	return fs
}

func TestTemplateDurablePolicies(t *testing.T) {
	raw := loadRawTemplate(t)
	for fn, extra := range map[string][]policyDoc{
		webhookFunction: {
			{statements: []statementSpec{tableStatement()}},
			{condition: queueCondition, statements: []statementSpec{{action: "sqs:SendMessage", resourceAtt: closeQueue + ".Arn"}}},
		},
		workerFunction: {
			{statements: []statementSpec{tableStatement()}},
			{statements: []statementSpec{{action: "sqs:ChangeMessageVisibility", resourceAtt: closeQueue + ".Arn"}}},
		},
		sweeperFunction: {
			{statements: []statementSpec{tableStatement()}},
		},
	} {
		reportFindings(t, "checkSecretPolicy "+fn, checkSecretPolicy(raw, fn))
		reportFindings(t, "checkExtraPolicies "+fn, checkExtraPolicies(raw, fn, extra))
	}
}

func TestTemplateDurableResources(t *testing.T) {
	raw := loadRawTemplate(t)
	res := func(parts ...string) *yaml.Node { return raw.get(join(append([]string{"Resources"}, parts...)...)) }
	want := map[string]string{
		// The table: pk string key, on demand, TTL on expires_at.
		"IdempotencyTable.Type":                                             "AWS::DynamoDB::Table",
		"IdempotencyTable.Properties.BillingMode":                           "PAY_PER_REQUEST",
		"IdempotencyTable.Properties.KeySchema.0.AttributeName":             "pk",
		"IdempotencyTable.Properties.KeySchema.0.KeyType":                   "HASH",
		"IdempotencyTable.Properties.AttributeDefinitions.0.AttributeName":  "pk",
		"IdempotencyTable.Properties.AttributeDefinitions.0.AttributeType":  "S",
		"IdempotencyTable.Properties.TimeToLiveSpecification.AttributeName": "expires_at",
		"IdempotencyTable.Properties.TimeToLiveSpecification.Enabled":       "true",
		// FIFO queues, deduplicated by the event's key, not the body.
		"CloseQueue.Type":                                 "AWS::SQS::Queue",
		"CloseQueue.Condition":                            queueCondition,
		"CloseQueue.Properties.FifoQueue":                 "true",
		"CloseQueue.Properties.ContentBasedDeduplication": "false",
		"CloseDeadLetterQueue.Properties.FifoQueue":       "true",
		"CloseDeadLetterQueue.Condition":                  queueCondition,
		// The worker: batch item failures, bounded concurrency.
		"WorkerFunction.Condition":                                                       queueCondition,
		"WorkerFunction.Metadata.BuildMethod":                                            "makefile",
		"WorkerFunction.Properties.Handler":                                              "bootstrap",
		"WorkerFunction.Properties.Runtime":                                              "provided.al2023",
		"WorkerFunction.Properties.Architectures.0":                                      "arm64",
		"WorkerFunction.Properties.Events.CloseQueue.Type":                               "SQS",
		"WorkerFunction.Properties.Events.CloseQueue.Properties.FunctionResponseTypes.0": "ReportBatchItemFailures",
		// The sweeper runs on a schedule, only when a workspace is configured.
		"SweeperFunction.Condition":                    "HasWorkspace",
		"SweeperFunction.Properties.Events.Sweep.Type": "Schedule",
		"SweeperFunction.Metadata.BuildMethod":         "makefile",
		// The DLQ alarm fires on the first dead letter.
		"CloseDeadLetterQueueAlarm.Properties.Namespace":          "AWS/SQS",
		"CloseDeadLetterQueueAlarm.Properties.MetricName":         "ApproximateNumberOfMessagesVisible",
		"CloseDeadLetterQueueAlarm.Properties.Threshold":          "0",
		"CloseDeadLetterQueueAlarm.Properties.ComparisonOperator": "GreaterThanThreshold",
	}
	for path, v := range want {
		if got := scalar(res(strings.Split(path, ".")...)); got != v {
			t.Errorf("Resources.%s = %q, want %q", path, got, v)
		}
	}
	if name, _, _ := subTemplate(res(closeQueue, "Properties", "QueueName")); !strings.HasSuffix(name, ".fifo") {
		t.Errorf("CloseQueue name %q must end in .fifo", name)
	}
	if att, _ := getAttName(res(closeQueue, "Properties", "RedrivePolicy", "deadLetterTargetArn")); att != closeDLQ+".Arn" {
		t.Errorf("CloseQueue redrive target = %q, want !GetAtt %s.Arn", att, closeDLQ)
	}
	if p, _ := refName(res(closeQueue, "Properties", "RedrivePolicy", "maxReceiveCount")); p != "MaxReceiveCount" {
		t.Errorf("CloseQueue maxReceiveCount = !Ref %q, want the MaxReceiveCount parameter", p)
	}
	if att, _ := getAttName(res(workerFunction, "Properties", "Events", "CloseQueue", "Properties", "Queue")); att != closeQueue+".Arn" {
		t.Errorf("worker event source = %q, want !GetAtt CloseQueue.Arn", att)
	}
	if p, _ := refName(res(workerFunction, "Properties", "Events", "CloseQueue", "Properties", "ScalingConfig", "MaximumConcurrency")); p != "WorkerMaxConcurrency" {
		t.Errorf("worker maximum concurrency = !Ref %q, want WorkerMaxConcurrency", p)
	}
	// Lambda's advice: the queue's visibility timeout is at least six times the worker's timeout.
	var vis, timeout int
	fmt.Sscan(scalar(res(closeQueue, "Properties", "VisibilityTimeout")), &vis)
	fmt.Sscan(scalar(res(workerFunction, "Properties", "Timeout")), &timeout)
	if timeout == 0 || vis < 6*timeout {
		t.Errorf("CloseQueue VisibilityTimeout %d < 6 × worker Timeout %d", vis, timeout)
	}
	// The alarm exists in both modes; in durable mode it watches the DLQ.
	dimValue := lookup(res("CloseDeadLetterQueueAlarm", "Properties", "Dimensions"), "0.Value")
	if name, arg, ok := intrinsic(dimValue); !ok || name != "Fn::If" || scalar(arg.Content[0]) != queueCondition {
		t.Errorf("DLQ alarm dimension: want !If [%s, !GetAtt %s.QueueName, …]", queueCondition, closeDLQ)
	} else if att, _ := getAttName(arg.Content[1]); att != closeDLQ+".QueueName" {
		t.Errorf("DLQ alarm dimension in durable mode = %q, want !GetAtt %s.QueueName", att, closeDLQ)
	}
	// The DLQ keeps messages longer than the queue, and the idempotency
	// store (delivery.Retention, 15 days) outlives both.
	var keep, dlqKeep int
	fmt.Sscan(scalar(res(closeQueue, "Properties", "MessageRetentionPeriod")), &keep)
	fmt.Sscan(scalar(res(closeDLQ, "Properties", "MessageRetentionPeriod")), &dlqKeep)
	if dlqKeep <= keep || dlqKeep > 15*24*3600 {
		t.Errorf("retention: queue %ds, DLQ %ds; want DLQ longer than the queue and within the store's 15 days", keep, dlqKeep)
	}
	// The webhook's resource-derived variables.
	vars := join("Resources", webhookFunction, "Properties", "Environment", "Variables")
	q := raw.get(join(vars, "CLOSE_QUEUE_URL"))
	if name, arg, ok := intrinsic(q); !ok || name != "Fn::If" || scalar(arg.Content[0]) != queueCondition {
		t.Errorf("CLOSE_QUEUE_URL = %s", webhookResourceEnv()["CLOSE_QUEUE_URL"])
	} else if r, _ := refName(arg.Content[1]); r != closeQueue || scalar(arg.Content[2]) != "" {
		t.Errorf("CLOSE_QUEUE_URL must be %s", webhookResourceEnv()["CLOSE_QUEUE_URL"])
	}
	for _, fn := range []string{webhookFunction, workerFunction, sweeperFunction} {
		if r, _ := refName(raw.get(join("Resources", fn, "Properties", "Environment", "Variables", "IDEMPOTENCY_TABLE"))); r != idempotencyTable {
			t.Errorf("%s IDEMPOTENCY_TABLE must be !Ref %s", fn, idempotencyTable)
		}
	}
	for _, out := range []string{"CloseQueueUrl", "CloseDeadLetterQueueUrl", "IdempotencyTableName"} {
		if !raw.has("Outputs", out) {
			t.Errorf("output %s missing", out)
		}
	}
	if !slices.Contains(raw.resourcesOfType(typeLogGroup), "WorkerLogGroup") || !slices.Contains(raw.resourcesOfType(typeLogGroup), "SweeperLogGroup") {
		t.Errorf("worker and sweeper need their log groups")
	}
}

// TestTemplateCloseDelayAndRecheck: in queue mode every close waits
// CloseDelaySeconds in the queue (SQS DelaySeconds, 0-900), so a transfer's
// new task exists before the guard looks; the worker rechecks skipped
// closes with RECHECK_AFTER/RECHECK_LIMIT, within the receives the redrive
// policy allows.
func TestTemplateCloseDelayAndRecheck(t *testing.T) {
	raw := loadRawTemplate(t)
	param := func(field string) string { return scalar(raw.get(join("Parameters", "CloseDelaySeconds", field))) }
	if param("Type") != "Number" || param("Default") != "10" || param("MinValue") != "0" || param("MaxValue") != "900" {
		t.Errorf("CloseDelaySeconds = %s default %s, %s-%s; want Number default 10, 0-900",
			param("Type"), param("Default"), param("MinValue"), param("MaxValue"))
	}
	if p, _ := refName(raw.get(join("Resources", closeQueue, "Properties", "DelaySeconds"))); p != "CloseDelaySeconds" {
		t.Errorf("CloseQueue DelaySeconds = !Ref %q, want the CloseDelaySeconds parameter", p)
	}
	vars := join("Resources", workerFunction, "Properties", "Environment", "Variables")
	after, limit := scalar(raw.get(join(vars, "RECHECK_AFTER"))), scalar(raw.get(join(vars, "RECHECK_LIMIT")))
	cfg, err := config.LoadWorker(func(k string) string {
		return map[string]string{config.EnvSecretID: "s", config.EnvRecheckAfter: after, config.EnvRecheckLimit: limit}[k]
	})
	if err != nil || cfg.RecheckAfter != time.Minute || cfg.RecheckLimit != 3 {
		t.Errorf("worker RECHECK_AFTER=%q RECHECK_LIMIT=%q load as %v, %d (%v); want 1m, 3", after, limit, cfg.RecheckAfter, cfg.RecheckLimit, err)
	}
	// The first delivery, each recheck, and at least one retry fit within
	// maxReceiveCount, so rechecks alone never dead-letter a job.
	var minReceives int
	fmt.Sscan(scalar(raw.get(join("Parameters", "MaxReceiveCount", "MinValue"))), &minReceives)
	if minReceives < cfg.RecheckLimit+2 {
		t.Errorf("MaxReceiveCount MinValue %d < RECHECK_LIMIT %d + 2", minReceives, cfg.RecheckLimit)
	}
	// The webhook and the sweeper close on the same events, by default
	// the code's default.
	if d := scalar(raw.get(join("Parameters", "TaskRouterCloseEvents", "Default"))); d != strings.Join(config.DefaultCloseEvents, ",") {
		t.Errorf("TaskRouterCloseEvents default %q, want config.DefaultCloseEvents %v", d, config.DefaultCloseEvents)
	}
}
