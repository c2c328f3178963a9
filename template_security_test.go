package flexhook_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/intrinsics"
	"gopkg.in/yaml.v3"
)

// TestTemplateLeastPrivilegeResolved deploys the template in goformation's
// intrinsic processor with concrete parameters, with and without a
// customer-managed KMS key, and checks the function's resolved policy: the
// one secret ARN for GetSecretValue, kms:Decrypt on the one key only when
// it is set and only through Secrets Manager, and no wildcard anywhere.
// The raw-template checks in template_test.go prove the shape; this proves
// what CloudFormation would grant.
func TestTemplateLeastPrivilegeResolved(t *testing.T) {
	const (
		secretARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:flexhook/twilio-AbC123"
		keyARN    = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	)
	type statement struct {
		Effect    string
		Action    any
		Resource  any
		Condition map[string]map[string]any
	}
	tests := []struct {
		name string
		key  string
		want []string // Action on Resource, in order
	}{
		{"AWS-managed key", "", []string{"secretsmanager:GetSecretValue on " + secretARN}},
		{"customer-managed key", keyARN, []string{"secretsmanager:GetSecretValue on " + secretARN, "kms:Decrypt on " + keyARN}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := parseRawTemplate(readTemplate(t))
			if err != nil {
				t.Fatal(err)
			}
			// goformation cannot evaluate a resource- or output-level
			// Condition (it decodes the result as a resource); everything
			// is kept, which does not change the webhook's own policy.
			for _, section := range []string{"Resources", "Outputs"} {
				for _, id := range tpl.names(section) {
					deleteKey(tpl.get(join(section, id)), "Condition")
				}
			}
			for typ, props := range goformationUnknownProperties() {
				for _, id := range tpl.resourcesOfType(typ) {
					for _, p := range props {
						deleteKey(tpl.get(join("Resources", id, "Properties")), p)
					}
				}
			}
			stripped, err := yaml.Marshal(tpl.root)
			if err != nil {
				t.Fatal(err)
			}
			cfn, err := goformation.ParseYAMLWithOptions(stripped, &intrinsics.ProcessorOptions{
				ParameterOverrides: map[string]any{secretParameter: secretARN, kmsKeyParameter: tt.key},
				EvaluateConditions: true,
			})
			if err != nil {
				t.Fatalf("goformation: %v", err)
			}
			fn, err := cfn.GetServerlessFunctionWithName(webhookFunction)
			if err != nil {
				t.Fatal(err)
			}
			// The first document is the secret's; the others (idempotency
			// table, queue) name resources goformation resolves away and are
			// checked on the raw template (TestTemplateDurablePolicies).
			docs := deref(deref(fn.Policies).IAMPolicyDocumentArray)
			if len(docs) == 0 {
				t.Fatalf("%s has no policy documents", webhookFunction)
			}
			var got []string
			for _, raw := range docs[0].Statement {
				if raw == nil {
					continue // the !If resolved to AWS::NoValue
				}
				b, _ := json.Marshal(raw)
				var st statement
				if err := json.Unmarshal(b, &st); err != nil {
					t.Fatalf("statement %s: %v", b, err)
				}
				if strings.Contains(string(b), "*") {
					t.Errorf("resolved statement %s contains a wildcard", b)
				}
				if st.Effect != "Allow" {
					t.Errorf("statement %s: Effect %q", b, st.Effect)
				}
				got = append(got, flat(st.Action)+" on "+flat(st.Resource))
				if flat(st.Action) == "kms:Decrypt" {
					via := st.Condition["StringEquals"]["kms:ViaService"]
					if len(st.Condition) != 1 || via == nil || !strings.HasPrefix(flat(via), "secretsmanager.") {
						t.Errorf("kms:Decrypt condition = %v, want StringEquals kms:ViaService secretsmanager.<region>.amazonaws.com", st.Condition)
					}
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("resolved policy grants\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// flat renders a policy value (a string or a one-element list) as text;
// anything else renders as JSON, which never equals a wanted value.
func flat(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		if len(x) == 1 {
			return flat(x[0])
		}
	case map[string]any:
		// An intrinsic left unresolved, such as !Sub.
		b, _ := json.Marshal(x)
		return string(b)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
