// Tests in this file validate template.yaml and samconfig.toml without SAM CLI
// or cfn-lint, neither of which runs in this environment.
//
// The template is read twice: once with goformation, which knows the SAM and
// CloudFormation resource schemas but resolves intrinsic functions away, and
// once as a gopkg.in/yaml.v3 node tree, which keeps the short-form tags
// (!Ref, !Sub, !If …) so references and policies can be checked.
//
// Checks that later resources (queues, table, worker, sweeper, alarms) should
// also pass are written as functions returning findings, so a test can assert
// that the real template has none and that a broken copy has the expected one.
//
// References:
//   - https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html
//   - https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-httpapi.html
//   - https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/building-custom-runtimes.html
//   - https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-sam-cli-config.html
//   - https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html
//   - https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
//   - https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-logs-loggroup.html
//   - https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html (kms:ViaService)
package flexhook_test

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"gopkg.in/yaml.v3"
)

const (
	templateFile  = "template.yaml"
	samconfigFile = "samconfig.toml"
	makefileFile  = "Makefile"

	samTransform       = "AWS::Serverless-2016-10-31"
	typeFunction       = "AWS::Serverless::Function"
	typeHTTPAPI        = "AWS::Serverless::HttpApi"
	typeLogGroup       = "AWS::Logs::LogGroup"
	webhookFunction    = "WebhookFunction"
	webhookLogGroup    = "WebhookLogGroup"
	httpAPI            = "HttpApi"
	secretParameter    = "TwilioSecretArn"
	kmsKeyParameter    = "TwilioSecretKmsKeyArn"
	kmsKeyCondition    = "HasTwilioSecretKmsKey"
	secretsManagerHost = "secretsmanager.${AWS::Region}.amazonaws.com"

	// twilioAPIBaseURLEnv redirects the function to a fake Twilio API for
	// local runs; a deployed stack must never set it.
	twilioAPIBaseURLEnv = "TWILIO_API_BASE_URL"
)

// localOnlyEnv are the variables a deployed stack leaves empty: they point
// a function at local stand-ins, and the template declares them empty so
// that `sam local invoke --env-vars` can set them.
var localOnlyEnv = []string{twilioAPIBaseURLEnv, "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_DYNAMODB"}

// rule names a kind of problem a template check reports.
type rule string

const (
	ruleUnresolvedReference rule = "unresolved-reference"
	ruleUnusedDeclaration   rule = "unused-declaration"
	ruleWildcard            rule = "wildcard"
	rulePolicyTemplate      rule = "policy-not-inline"
	rulePolicy              rule = "policy"
	ruleEnvMissing          rule = "env-missing"
	ruleEnvParameter        rule = "env-not-parameter"
	ruleEnvForbidden        rule = "env-forbidden"
	ruleBadPattern          rule = "bad-allowed-pattern"
	ruleBadDefault          rule = "bad-default"
	ruleUnconstrained       rule = "unconstrained-parameter"
	ruleParameterGroup      rule = "parameter-group"
	ruleLogging             rule = "logging"
	ruleRoute               rule = "route"
	ruleMakeTarget          rule = "make-target"
)

// finding is one problem a template check reports.
type finding struct {
	rule   rule
	path   string // dotted path of the offending node, e.g. Resources.X.Properties.Timeout
	detail string
}

func (f finding) String() string { return fmt.Sprintf("%s at %s: %s", f.rule, f.path, f.detail) }

// reportFindings fails t once per finding.
func reportFindings(t *testing.T, check string, fs []finding) {
	t.Helper()
	for _, f := range fs {
		t.Errorf("%s: %v", check, f)
	}
}

// ---------------------------------------------------------------------------
// Raw YAML access.

// rawTemplate is a template as a yaml.v3 node tree. It keeps the short-form
// intrinsic tags that goformation resolves away.
type rawTemplate struct {
	root *yaml.Node // the document's top-level mapping
}

// parseRawTemplate parses a YAML CloudFormation template.
func parseRawTemplate(data []byte) (rawTemplate, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return rawTemplate{}, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return rawTemplate{}, errors.New("template is not a YAML mapping")
	}
	return rawTemplate{root: doc.Content[0]}, nil
}

// readTemplate reads template.yaml.
func readTemplate(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(templateFile)
	if err != nil {
		t.Fatalf("read template: %v", err)
	}
	return data
}

// loadRawTemplate reads and parses template.yaml as a node tree.
func loadRawTemplate(t testing.TB) rawTemplate {
	t.Helper()
	tpl, err := parseRawTemplate(readTemplate(t))
	if err != nil {
		t.Fatalf("parse %s: %v", templateFile, err)
	}
	return tpl
}

// get returns the node at a dotted path of mapping keys and sequence indexes
// (for example "Resources.Fn.Properties.Policies.0"), or nil.
func (tpl rawTemplate) get(path string) *yaml.Node { return lookup(tpl.root, path) }

// names returns the keys of a top-level section such as Parameters, in
// document order.
func (tpl rawTemplate) names(section string) []string { return keys(tpl.get(section)) }

// has reports whether a top-level section declares name.
func (tpl rawTemplate) has(section, name string) bool {
	return child(tpl.get(section), name) != nil
}

// resourceType returns the Type of a resource, or "" if there is none.
func (tpl rawTemplate) resourceType(name string) string {
	return scalar(tpl.get(join("Resources", name, "Type")))
}

// resourcesOfType returns the logical IDs of the resources of a type, in
// document order.
func (tpl rawTemplate) resourcesOfType(typ string) []string {
	var ids []string
	for _, id := range tpl.names("Resources") {
		if tpl.resourceType(id) == typ {
			ids = append(ids, id)
		}
	}
	return ids
}

// isResource reports whether name is a resource in the template or one SAM
// generates under a documented logical ID that templates may reference.
func (tpl rawTemplate) isResource(name string) bool {
	if tpl.has("Resources", name) {
		return true
	}
	// An AWS::Serverless::Function without Role gets an AWS::IAM::Role
	// named <function>Role.
	fn, ok := strings.CutSuffix(name, "Role")
	return ok && tpl.resourceType(fn) == typeFunction && tpl.get(join("Resources", fn, "Properties", "Role")) == nil
}

// join joins path segments with dots, skipping empty ones.
func join(segs ...string) string {
	var b strings.Builder
	for _, s := range segs {
		if s == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// lookup returns the node at a dotted path below n, or nil.
func lookup(n *yaml.Node, path string) *yaml.Node {
	if path == "" {
		return n
	}
	for _, seg := range strings.Split(path, ".") {
		if n = child(n, seg); n == nil {
			return nil
		}
	}
	return n
}

// child returns the value of key seg in a mapping, or element seg (a decimal
// index) of a sequence, or nil.
func child(n *yaml.Node, seg string) *yaml.Node {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg {
				return n.Content[i+1]
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i]
		}
	}
	return nil
}

// keys returns the keys of a mapping node in document order; nil for
// anything else.
func keys(n *yaml.Node) []string {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make([]string, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i].Value)
	}
	return out
}

// literal returns the value of a scalar that is not an intrinsic function.
func literal(n *yaml.Node) (string, bool) {
	if n == nil || n.Kind != yaml.ScalarNode || isShortFormTag(n.Tag) {
		return "", false
	}
	return n.Value, true
}

// scalar returns the value of a literal scalar, or "".
func scalar(n *yaml.Node) string {
	v, _ := literal(n)
	return v
}

// literals returns the values of a literal scalar or of a sequence of
// literal scalars, the two shapes IAM accepts for Action and Resource.
func literals(n *yaml.Node) ([]string, bool) {
	if v, ok := literal(n); ok {
		return []string{v}, true
	}
	if n == nil || n.Kind != yaml.SequenceNode || isShortFormTag(n.Tag) {
		return nil, false
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		v, ok := literal(c)
		if !ok {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

func isShortFormTag(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}

// intrinsic reports whether n calls an intrinsic function, in short form
// (!Sub x) or long form ({"Fn::Sub": x}). It returns the long-form name
// ("Ref", "Condition" or "Fn::…") and the argument.
func intrinsic(n *yaml.Node) (name string, arg *yaml.Node, ok bool) {
	if n == nil {
		return "", nil, false
	}
	if isShortFormTag(n.Tag) {
		name = strings.TrimPrefix(n.Tag, "!")
		if name != "Ref" && name != "Condition" {
			name = "Fn::" + name
		}
		a := *n
		a.Tag = ""
		return name, &a, true
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		if k := n.Content[0].Value; k == "Ref" || strings.HasPrefix(k, "Fn::") {
			return k, n.Content[1], true
		}
	}
	return "", nil, false
}

// refName returns X for !Ref X or {Ref: X}.
func refName(n *yaml.Node) (string, bool) {
	name, arg, ok := intrinsic(n)
	if !ok || name != "Ref" {
		return "", false
	}
	return literal(arg)
}

// subTemplate returns the template string of !Sub s, !Sub [s, vars] or the
// long forms, and the names of its local variables.
func subTemplate(n *yaml.Node) (tmpl string, vars []string, ok bool) {
	name, arg, ok := intrinsic(n)
	if !ok || name != "Fn::Sub" {
		return "", nil, false
	}
	if s, ok := literal(arg); ok {
		return s, nil, true
	}
	if arg.Kind == yaml.SequenceNode && len(arg.Content) == 2 {
		if s, ok := literal(arg.Content[0]); ok {
			return s, keys(arg.Content[1]), true
		}
	}
	return "", nil, false
}

// subVariables returns the names inside ${…} in a Fn::Sub template, skipping
// the ${!Literal} escape.
func subVariables(tmpl string) []string {
	var out []string
	for {
		i := strings.Index(tmpl, "${")
		if i < 0 {
			return out
		}
		tmpl = tmpl[i+2:]
		j := strings.IndexByte(tmpl, '}')
		if j < 0 {
			return out
		}
		v := strings.TrimSpace(tmpl[:j])
		tmpl = tmpl[j+1:]
		if !strings.HasPrefix(v, "!") {
			out = append(out, v)
		}
	}
}

// walk calls visit for n and every node below it with the node's dotted
// path. Mapping keys are not visited.
func walk(n *yaml.Node, path string, visit func(path string, n *yaml.Node)) {
	if n == nil {
		return
	}
	visit(path, n)
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			walk(n.Content[i+1], join(path, n.Content[i].Value), visit)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			walk(c, join(path, strconv.Itoa(i)), visit)
		}
	}
}

// isPseudoParameter reports whether name is a CloudFormation pseudo parameter.
func isPseudoParameter(name string) bool {
	switch name {
	case "AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition",
		"AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix":
		return true
	}
	return false
}

// cfnPattern compiles a parameter's AllowedPattern. CloudFormation (Java
// regular expressions) requires the whole value to match, so the pattern is
// anchored. Patterns should keep to the syntax Java and Go share.
func cfnPattern(pattern string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + pattern + `)$`)
}

// ---------------------------------------------------------------------------
// Checks. Each returns the problems it finds; none means the check passed.

// checkReferences reports every Ref, Fn::GetAtt, ${…} in Fn::Sub, Fn::If,
// Condition, Fn::FindInMap and DependsOn that names nothing the template
// declares, and every parameter or condition nothing uses.
func checkReferences(tpl rawTemplate) []finding {
	var fs []finding
	used := map[string]bool{}
	report := func(path, format string, args ...any) {
		fs = append(fs, finding{ruleUnresolvedReference, path, fmt.Sprintf(format, args...)})
	}
	isParam := func(name string) bool { return tpl.has("Parameters", name) }
	isCondition := func(name string) bool { return tpl.has("Conditions", name) }
	useCondition := func(path, name string) {
		used["Conditions."+name] = true
		if !isCondition(name) {
			report(path, "condition %q is not declared", name)
		}
	}

	walk(tpl.root, "", func(path string, n *yaml.Node) {
		name, arg, ok := intrinsic(n)
		if !ok {
			// Long-form {Condition: X} inside a condition expression.
			if strings.HasPrefix(path, "Conditions.") && n.Kind == yaml.MappingNode &&
				len(n.Content) == 2 && n.Content[0].Value == "Condition" {
				useCondition(path, scalar(n.Content[1]))
			}
			return
		}
		switch name {
		case "Ref":
			target, ok := literal(arg)
			used["Parameters."+target] = true
			switch {
			case !ok:
				report(path, "Ref takes a literal name")
			case !isPseudoParameter(target) && !isParam(target) && !tpl.isResource(target):
				report(path, "Ref %q names no parameter, resource or pseudo parameter", target)
			}
		case "Fn::GetAtt":
			var target string
			if s, ok := literal(arg); ok {
				target, _, _ = strings.Cut(s, ".")
			} else if arg.Kind == yaml.SequenceNode && len(arg.Content) == 2 {
				target = scalar(arg.Content[0])
			}
			if !tpl.isResource(target) {
				report(path, "GetAtt names %q, which is not a resource", target)
			}
		case "Fn::Sub":
			tmpl, locals, ok := subTemplate(n)
			if !ok {
				report(path, "Fn::Sub takes a string or [string, variables]")
				return
			}
			for _, v := range subVariables(tmpl) {
				if slices.Contains(locals, v) || isPseudoParameter(v) {
					continue
				}
				if res, _, isAttr := strings.Cut(v, "."); isAttr {
					if !tpl.isResource(res) {
						report(path, "${%s} names %q, which is not a resource", v, res)
					}
					continue
				}
				used["Parameters."+v] = true
				if !isParam(v) && !tpl.isResource(v) {
					report(path, "${%s} names no parameter, resource or pseudo parameter", v)
				}
			}
		case "Fn::If":
			if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
				report(path, "Fn::If takes [condition, then, else]")
				return
			}
			useCondition(join(path, "0"), scalar(arg.Content[0]))
		case "Condition":
			useCondition(path, scalar(arg))
		case "Fn::FindInMap":
			fs = append(fs, checkFindInMap(tpl, path, arg, used)...)
		}
	})

	for _, id := range tpl.names("Resources") {
		if c := tpl.get(join("Resources", id, "Condition")); c != nil {
			useCondition(join("Resources", id, "Condition"), scalar(c))
		}
		dependsOn := join("Resources", id, "DependsOn")
		if deps, ok := literals(tpl.get(dependsOn)); ok {
			for _, d := range deps {
				if !tpl.isResource(d) {
					report(dependsOn, "DependsOn names %q, which is not a resource", d)
				}
			}
		}
	}
	for _, id := range tpl.names("Outputs") {
		if c := tpl.get(join("Outputs", id, "Condition")); c != nil {
			useCondition(join("Outputs", id, "Condition"), scalar(c))
		}
	}

	for _, section := range []string{"Parameters", "Conditions"} {
		for _, name := range tpl.names(section) {
			if !used[section+"."+name] {
				fs = append(fs, finding{ruleUnusedDeclaration, join(section, name), "declared but never used"})
			}
		}
	}
	return fs
}

// checkFindInMap checks !FindInMap [map, key, key]: the map must exist, a
// literal top-level key must exist, a top-level key taken from a parameter
// must exist for each of the parameter's AllowedValues, and a literal
// second-level key must exist under every top-level key that can be chosen.
func checkFindInMap(tpl rawTemplate, path string, arg *yaml.Node, used map[string]bool) []finding {
	bad := func(format string, args ...any) []finding {
		return []finding{{ruleUnresolvedReference, path, fmt.Sprintf(format, args...)}}
	}
	if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
		return bad("Fn::FindInMap takes [map, top-level key, second-level key]")
	}
	mapName, ok := literal(arg.Content[0])
	if !ok {
		return nil // A computed map name cannot be checked statically.
	}
	m := tpl.get(join("Mappings", mapName))
	if m == nil {
		return bad("mapping %q is not declared", mapName)
	}
	var topKeys []string
	if k, ok := literal(arg.Content[1]); ok {
		topKeys = []string{k}
	} else if p, ok := refName(arg.Content[1]); ok {
		used["Parameters."+p] = true
		allowed, ok := literals(tpl.get(join("Parameters", p, "AllowedValues")))
		if !ok {
			return bad("mapping %q is keyed by parameter %q, which needs AllowedValues", mapName, p)
		}
		topKeys = allowed
	}
	var fs []finding
	second, literalSecond := literal(arg.Content[2])
	for _, k := range topKeys {
		top := child(m, k)
		if top == nil {
			fs = append(fs, bad("mapping %q has no top-level key %q", mapName, k)...)
			continue
		}
		if literalSecond && child(top, second) == nil {
			fs = append(fs, bad("mapping %q has no key %q under %q", mapName, second, k)...)
		}
	}
	return fs
}

// checkNoWildcards reports a "*" in any string under an Action, NotAction,
// Resource or NotResource key anywhere in the template, including inside
// intrinsic functions such as !Sub.
func checkNoWildcards(tpl rawTemplate) []finding {
	var fs []finding
	walk(tpl.root, "", func(path string, n *yaml.Node) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			switch key := n.Content[i].Value; key {
			case "Action", "NotAction", "Resource", "NotResource":
				walk(n.Content[i+1], join(path, key), func(p string, v *yaml.Node) {
					if v.Kind == yaml.ScalarNode && strings.Contains(v.Value, "*") {
						fs = append(fs, finding{ruleWildcard, p, fmt.Sprintf("%q contains a wildcard", v.Value)})
					}
				})
			}
		}
	})
	return fs
}

// checkInlinePolicies reports SAM function policies that are not inline
// policy documents: managed policy names or ARNs and SAM policy templates,
// whose expansions are not visible in the template (several use wildcards).
// A conditional entry (!If) must have a policy document or AWS::NoValue in
// each branch.
func checkInlinePolicies(tpl rawTemplate) []finding {
	var fs []finding
	isDocument := func(n *yaml.Node) bool { return n != nil && n.Kind == yaml.MappingNode && child(n, "Statement") != nil }
	for _, fn := range tpl.resourcesOfType(typeFunction) {
		path := join("Resources", fn, "Properties", "Policies")
		policies := tpl.get(path)
		if policies == nil {
			continue
		}
		items := []*yaml.Node{policies}
		if policies.Kind == yaml.SequenceNode {
			items = policies.Content
		}
		for i, item := range items {
			p := path
			if policies.Kind == yaml.SequenceNode {
				p = join(path, strconv.Itoa(i))
			}
			if isDocument(item) {
				continue
			}
			if name, arg, ok := intrinsic(item); ok && name == "Fn::If" && arg.Kind == yaml.SequenceNode && len(arg.Content) == 3 {
				branchOK := func(b *yaml.Node) bool {
					r, isRef := refName(b)
					return isDocument(b) || (isRef && r == "AWS::NoValue")
				}
				if branchOK(arg.Content[1]) && branchOK(arg.Content[2]) {
					continue
				}
			}
			fs = append(fs, finding{rulePolicyTemplate, p, "want an inline policy document with a Statement list"})
		}
	}
	return fs
}

// statementSpec describes the one IAM statement allowed in a position.
type statementSpec struct {
	action      string   // the only action (or use actions)
	actions     []string // the exact actions, when more than one
	resourceRef string   // the parameter the only resource must !Ref
	resourceAtt string   // or the !GetAtt (e.g. "IdempotencyTable.Arn") it must be
	viaService  string   // if set, the required kms:ViaService !Sub template
}

// checkStatement compares an IAM statement with spec.
func checkStatement(path string, st *yaml.Node, spec statementSpec) []finding {
	if st == nil || st.Kind != yaml.MappingNode || isShortFormTag(st.Tag) {
		return []finding{{rulePolicy, path, "want a literal statement"}}
	}
	var fs []finding
	bad := func(p, format string, args ...any) {
		fs = append(fs, finding{rulePolicy, p, fmt.Sprintf(format, args...)})
	}
	allowedKeys := []string{"Sid", "Effect", "Action", "Resource"}
	if spec.viaService != "" {
		allowedKeys = append(allowedKeys, "Condition")
	}
	for _, k := range keys(st) {
		if !slices.Contains(allowedKeys, k) {
			bad(join(path, k), "unexpected statement key %q", k)
		}
	}
	if e := scalar(child(st, "Effect")); e != "Allow" {
		bad(join(path, "Effect"), "Effect = %q, want Allow", e)
	}
	wantActions := spec.actions
	if spec.action != "" {
		wantActions = []string{spec.action}
	}
	if a, ok := literals(child(st, "Action")); !ok || !slices.Equal(a, wantActions) {
		bad(join(path, "Action"), "Action = %v, want exactly %v", a, wantActions)
	}
	res := child(st, "Resource")
	if res != nil && res.Kind == yaml.SequenceNode && !isShortFormTag(res.Tag) && len(res.Content) == 1 {
		res = res.Content[0]
	}
	if spec.resourceAtt != "" {
		if a, ok := getAttName(res); !ok || a != spec.resourceAtt {
			bad(join(path, "Resource"), "Resource must be exactly !GetAtt %s", spec.resourceAtt)
		}
	} else if r, ok := refName(res); !ok || r != spec.resourceRef {
		bad(join(path, "Resource"), "Resource must be exactly !Ref %s", spec.resourceRef)
	}
	if spec.viaService != "" {
		cond := child(st, "Condition")
		via := lookup(cond, "StringEquals.kms:ViaService")
		tmpl, _, _ := subTemplate(via)
		if len(keys(cond)) != 1 || len(keys(child(cond, "StringEquals"))) != 1 || tmpl != spec.viaService {
			bad(join(path, "Condition"), "Condition must be exactly StringEquals kms:ViaService !Sub %s", spec.viaService)
		}
	}
	return fs
}

// checkSecretPolicy checks that a function's first policy document only
// reads the Twilio secret and, only when a customer-managed key is
// configured, decrypts it through Secrets Manager. Other documents are
// checked by checkExtraPolicies.
func checkSecretPolicy(tpl rawTemplate, fn string) []finding {
	base := join("Resources", fn, "Properties", "Policies")
	policies := tpl.get(base)
	if policies == nil || policies.Kind != yaml.SequenceNode || len(policies.Content) == 0 {
		return []finding{{rulePolicy, base, "want a list of inline policy documents, the secret's first"}}
	}
	doc := join(base, "0")
	var fs []finding
	if v := scalar(tpl.get(join(doc, "Version"))); v != "2012-10-17" {
		fs = append(fs, finding{rulePolicy, join(doc, "Version"), fmt.Sprintf("Version = %q, want 2012-10-17", v)})
	}
	stmtsPath := join(doc, "Statement")
	stmts := tpl.get(stmtsPath)
	if stmts == nil || stmts.Kind != yaml.SequenceNode || len(stmts.Content) != 2 {
		return append(fs, finding{rulePolicy, stmtsPath, "want two statements: read the secret, then the conditional KMS decrypt"})
	}
	fs = append(fs, checkStatement(join(stmtsPath, "0"), stmts.Content[0],
		statementSpec{action: "secretsmanager:GetSecretValue", resourceRef: secretParameter})...)

	kmsPath := join(stmtsPath, "1")
	name, arg, ok := intrinsic(stmts.Content[1])
	if !ok || name != "Fn::If" || arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
		return append(fs, finding{rulePolicy, kmsPath,
			fmt.Sprintf("the KMS statement must be !If [%s, statement, !Ref AWS::NoValue]", kmsKeyCondition)})
	}
	if c := scalar(arg.Content[0]); c != kmsKeyCondition {
		fs = append(fs, finding{rulePolicy, join(kmsPath, "0"), fmt.Sprintf("condition = %q, want %s", c, kmsKeyCondition)})
	}
	if r, _ := refName(arg.Content[2]); r != "AWS::NoValue" {
		fs = append(fs, finding{rulePolicy, join(kmsPath, "2"), "the else branch must be !Ref AWS::NoValue"})
	}
	fs = append(fs, checkStatement(join(kmsPath, "1"), arg.Content[1],
		statementSpec{action: "kms:Decrypt", resourceRef: kmsKeyParameter, viaService: secretsManagerHost})...)
	return append(fs, checkKMSKeyCondition(tpl)...)
}

// checkKMSKeyCondition checks that the KMS statement's condition is true
// exactly when the key parameter is non-empty.
func checkKMSKeyCondition(tpl rawTemplate) []finding {
	path := join("Conditions", kmsKeyCondition)
	want := finding{rulePolicy, path, fmt.Sprintf(`want !Not [!Equals [!Ref %s, ""]]`, kmsKeyParameter)}
	name, not, ok := intrinsic(tpl.get(path))
	if !ok || name != "Fn::Not" || not.Kind != yaml.SequenceNode || len(not.Content) != 1 {
		return []finding{want}
	}
	name, eq, ok := intrinsic(not.Content[0])
	if !ok || name != "Fn::Equals" || eq.Kind != yaml.SequenceNode || len(eq.Content) != 2 {
		return []finding{want}
	}
	for i := range 2 {
		ref, isRef := refName(eq.Content[i])
		empty, isLiteral := literal(eq.Content[1-i])
		if isRef && ref == kmsKeyParameter && isLiteral && empty == "" {
			return nil
		}
	}
	return []finding{want}
}

// checkEnvironment checks a function's environment: each name in want must
// be !Ref of its parameter. It also reports forbidden (local-only)
// variables set to anything but "" in any Environment.Variables of the
// template, Globals included.
func checkEnvironment(tpl rawTemplate, fn string, want []envParameter, forbidden []string) []finding {
	var fs []finding
	vars := join("Resources", fn, "Properties", "Environment", "Variables")
	for _, w := range want {
		path := join(vars, w.env)
		n := tpl.get(path)
		if n == nil {
			fs = append(fs, finding{ruleEnvMissing, path, "not set"})
			continue
		}
		if p, ok := refName(n); !ok || p != w.parameter || !tpl.has("Parameters", p) {
			fs = append(fs, finding{ruleEnvParameter, path, fmt.Sprintf("want !Ref %s, a declared parameter", w.parameter)})
		}
	}
	walk(tpl.root, "", func(path string, n *yaml.Node) {
		if !strings.HasSuffix(path, "Environment.Variables") {
			return
		}
		for _, k := range keys(n) {
			// A local-only variable may be declared empty, so that
			// `sam local invoke --env-vars` can set it; never with a value.
			if v, isLiteral := literal(child(n, k)); slices.Contains(forbidden, k) && (!isLiteral || v != "") {
				fs = append(fs, finding{ruleEnvForbidden, join(path, k), "must be empty in a deployed stack"})
			}
		}
	})
	return fs
}

// envParameter pairs an environment variable with the parameter it comes from.
type envParameter struct {
	env, parameter string
}

// checkParameters checks every parameter: String parameters are constrained
// by AllowedValues or AllowedPattern, patterns compile, and defaults and
// allowed values satisfy the constraints. It also checks that the console's
// parameter groups list each parameter exactly once.
func checkParameters(tpl rawTemplate) []finding {
	var fs []finding
	for _, name := range tpl.names("Parameters") {
		path := join("Parameters", name)
		typ := scalar(tpl.get(join(path, "Type")))
		allowed, hasAllowed := literals(tpl.get(join(path, "AllowedValues")))
		patternNode := tpl.get(join(path, "AllowedPattern"))
		if typ == "String" && !hasAllowed && patternNode == nil {
			fs = append(fs, finding{ruleUnconstrained, path, "a String parameter needs AllowedValues or AllowedPattern"})
		}
		var re *regexp.Regexp
		if patternNode != nil {
			var err error
			if re, err = cfnPattern(scalar(patternNode)); err != nil {
				fs = append(fs, finding{ruleBadPattern, join(path, "AllowedPattern"), err.Error()})
			}
		}
		if re != nil {
			for i, v := range allowed {
				if !re.MatchString(v) {
					fs = append(fs, finding{ruleBadDefault, join(path, "AllowedValues", strconv.Itoa(i)),
						fmt.Sprintf("%q does not match AllowedPattern", v)})
				}
			}
		}
		defNode := tpl.get(join(path, "Default"))
		if defNode == nil {
			continue
		}
		def, ok := literal(defNode)
		defPath := join(path, "Default")
		switch {
		case !ok:
			fs = append(fs, finding{ruleBadDefault, defPath, "Default must be a literal"})
		case re != nil && !re.MatchString(def):
			fs = append(fs, finding{ruleBadDefault, defPath, fmt.Sprintf("%q does not match AllowedPattern", def)})
		case hasAllowed && !slices.Contains(allowed, def):
			fs = append(fs, finding{ruleBadDefault, defPath, fmt.Sprintf("%q is not in AllowedValues %v", def, allowed)})
		case typ == "Number":
			if _, err := strconv.ParseFloat(def, 64); err != nil {
				fs = append(fs, finding{ruleBadDefault, defPath, fmt.Sprintf("%q is not a number", def)})
			}
		}
	}
	return append(fs, checkParameterGroups(tpl)...)
}

// checkParameterGroups checks the AWS::CloudFormation::Interface metadata:
// every parameter in exactly one group, and no group naming a missing one.
func checkParameterGroups(tpl rawTemplate) []finding {
	const path = "Metadata.AWS::CloudFormation::Interface.ParameterGroups"
	groups := lookup(child(tpl.get("Metadata"), "AWS::CloudFormation::Interface"), "ParameterGroups")
	if groups == nil || groups.Kind != yaml.SequenceNode {
		return []finding{{ruleParameterGroup, path, "missing"}}
	}
	var fs []finding
	seen := map[string]int{}
	for i, g := range groups.Content {
		names, _ := literals(child(g, "Parameters"))
		for _, n := range names {
			seen[n]++
			if !tpl.has("Parameters", n) {
				fs = append(fs, finding{ruleParameterGroup, join(path, strconv.Itoa(i)), fmt.Sprintf("names undeclared parameter %q", n)})
			}
		}
	}
	for _, name := range tpl.names("Parameters") {
		if seen[name] != 1 {
			fs = append(fs, finding{ruleParameterGroup, join("Parameters", name), fmt.Sprintf("in %d parameter groups, want 1", seen[name])})
		}
	}
	return fs
}

// checkFunctionLogging checks that every function logs JSON, with an
// application log level, to a log group the template owns and bounds.
func checkFunctionLogging(tpl rawTemplate) []finding {
	var fs []finding
	for _, fn := range tpl.resourcesOfType(typeFunction) {
		path := join("Resources", fn, "Properties", "LoggingConfig")
		cfg := tpl.get(path)
		if f := scalar(child(cfg, "LogFormat")); f != "JSON" {
			fs = append(fs, finding{ruleLogging, join(path, "LogFormat"), fmt.Sprintf("LogFormat = %q, want JSON", f)})
		}
		if child(cfg, "ApplicationLogLevel") == nil {
			fs = append(fs, finding{ruleLogging, join(path, "ApplicationLogLevel"),
				"unset: with JSON logs Lambda then drops application logs below INFO whatever LOG_LEVEL says"})
		}
		group, ok := refName(child(cfg, "LogGroup"))
		switch {
		case !ok || tpl.resourceType(group) != typeLogGroup:
			fs = append(fs, finding{ruleLogging, join(path, "LogGroup"), "want !Ref of an AWS::Logs::LogGroup in this template"})
		case tpl.get(join("Resources", group, "Properties", "RetentionInDays")) == nil:
			fs = append(fs, finding{ruleLogging, join("Resources", group, "Properties", "RetentionInDays"), "log group keeps logs forever"})
		}
	}
	return fs
}

// httpRoute is an HttpApi event of a function.
type httpRoute struct {
	function, method, path, api string
}

// httpRoutes returns every HttpApi event in the template, in document order.
func httpRoutes(tpl rawTemplate) []httpRoute {
	var routes []httpRoute
	for _, fn := range tpl.resourcesOfType(typeFunction) {
		events := tpl.get(join("Resources", fn, "Properties", "Events"))
		for _, name := range keys(events) {
			ev := child(events, name)
			if scalar(child(ev, "Type")) != "HttpApi" {
				continue
			}
			api, _ := refName(lookup(ev, "Properties.ApiId"))
			routes = append(routes, httpRoute{
				function: fn,
				method:   scalar(lookup(ev, "Properties.Method")),
				path:     scalar(lookup(ev, "Properties.Path")),
				api:      api,
			})
		}
	}
	return routes
}

// checkHTTPRoutes checks that the template's HttpApi events are exactly
// want, each bound with ApiId to an AWS::Serverless::HttpApi it declares
// (an event without ApiId would create SAM's implicit API instead).
func checkHTTPRoutes(tpl rawTemplate, want []httpRoute) []finding {
	var fs []finding
	got := httpRoutes(tpl)
	for _, r := range got {
		path := join("Resources", r.function, "Properties", "Events")
		if !slices.Contains(want, r) {
			fs = append(fs, finding{ruleRoute, path, fmt.Sprintf("unexpected route %+v", r)})
		}
		if tpl.resourceType(r.api) != typeHTTPAPI {
			fs = append(fs, finding{ruleRoute, path, fmt.Sprintf("route %s %s: ApiId must be !Ref of an %s", r.method, r.path, typeHTTPAPI)})
		}
	}
	for _, r := range want {
		if !slices.Contains(got, r) {
			fs = append(fs, finding{ruleRoute, join("Resources", r.function, "Properties", "Events"), fmt.Sprintf("missing route %+v", r)})
		}
	}
	return fs
}

// makeTargets returns the targets a Makefile's rule lines define, skipping
// recipe lines, comments and variable assignments (":=", "::=").
func makeTargets(makefile []byte) []string {
	rule := regexp.MustCompile(`(?m)^([^:#=\t\n][^:#=\n]*)::?(?:[^=:]|$)`)
	var out []string
	for _, m := range rule.FindAllSubmatch(makefile, -1) {
		out = append(out, strings.Fields(string(m[1]))...)
	}
	return out
}

// checkMakeTargets checks that the Makefile has the build-<LogicalId>
// target SAM runs for each function built with BuildMethod makefile.
func checkMakeTargets(tpl rawTemplate, makefile []byte) []finding {
	var fs []finding
	targets := makeTargets(makefile)
	for _, fn := range tpl.resourcesOfType(typeFunction) {
		if scalar(tpl.get(join("Resources", fn, "Metadata", "BuildMethod"))) != "makefile" {
			continue
		}
		if want := "build-" + fn; !slices.Contains(targets, want) {
			fs = append(fs, finding{ruleMakeTarget, join("Resources", fn, "Metadata", "BuildMethod"),
				fmt.Sprintf("%s has no %s target", makefileFile, want)})
		}
	}
	return fs
}

// ---------------------------------------------------------------------------
// goformation.

// goformationUnknownProperties lists properties that SAM supports but
// goformation v7.14.9's schema lacks; its decoder rejects unknown fields, so
// they are removed before parsing and checked on the raw tree instead.
func goformationUnknownProperties() map[string][]string {
	return map[string][]string{
		typeFunction: {"LoggingConfig"}, // checked by checkFunctionLogging
	}
}

// parseGoformation parses a template with goformation.
func parseGoformation(data []byte) (*cloudformation.Template, error) {
	tpl, err := parseRawTemplate(data)
	if err != nil {
		return nil, err
	}
	for typ, props := range goformationUnknownProperties() {
		for _, id := range tpl.resourcesOfType(typ) {
			p := tpl.get(join("Resources", id, "Properties"))
			for _, prop := range props {
				deleteKey(p, prop)
			}
		}
	}
	stripped, err := yaml.Marshal(tpl.root)
	if err != nil {
		return nil, err
	}
	return goformation.ParseYAML(stripped)
}

// loadGoformation parses template.yaml with goformation.
func loadGoformation(t testing.TB) *cloudformation.Template {
	t.Helper()
	cfn, err := parseGoformation(readTemplate(t))
	if err != nil {
		t.Fatalf("goformation: parse %s: %v", templateFile, err)
	}
	return cfn
}

// deleteKey removes key from a mapping node and reports whether it was there.
func deleteKey(m *yaml.Node, key string) bool {
	if m == nil || m.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = slices.Delete(m.Content, i, i+2)
			return true
		}
	}
	return false
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// ---------------------------------------------------------------------------
// Tests of the real template.

// TestTemplateParses checks the template parses as SAM and declares the core resources.
func TestTemplateParses(t *testing.T) {
	cfn := loadGoformation(t)
	if got := deref(deref(cfn.Transform).String); got != samTransform {
		t.Errorf("Transform = %q, want %q", got, samTransform)
	}
	if cfn.AWSTemplateFormatVersion != "2010-09-09" {
		t.Errorf("AWSTemplateFormatVersion = %q, want 2010-09-09", cfn.AWSTemplateFormatVersion)
	}
	if strings.TrimSpace(cfn.Description) == "" {
		t.Error("Description is empty")
	}
	if len(cfn.Description) > 1024 {
		t.Errorf("len(Description) = %d, want at most 1024 (CloudFormation limit)", len(cfn.Description))
	}
	for _, id := range []string{webhookFunction, httpAPI, webhookLogGroup} {
		if _, ok := cfn.Resources[id]; !ok {
			t.Errorf("resource %s missing", id)
		}
	}
}

// TestTemplateWebhookFunction checks the webhook function's build, runtime, limits and logging.
func TestTemplateWebhookFunction(t *testing.T) {
	cfn := loadGoformation(t)
	fn, err := cfn.GetServerlessFunctionWithName(webhookFunction)
	if err != nil {
		t.Fatalf("GetServerlessFunctionWithName(%q): %v", webhookFunction, err)
	}
	tests := []struct {
		field     string
		got, want any
	}{
		{"CodeUri", deref(deref(fn.CodeUri).String), "."},
		{"Handler", deref(fn.Handler), "bootstrap"},
		{"Runtime", deref(fn.Runtime), "provided.al2023"},
		{"Architectures", fmt.Sprint(fn.Architectures), "[arm64]"},
		{"MemorySize", deref(fn.MemorySize), 256},
		{"Metadata.BuildMethod", fn.AWSCloudFormationMetadata["BuildMethod"], "makefile"},
		{"Role (SAM generates it from Policies)", deref(fn.Role), ""},
		{"FunctionName (left to CloudFormation)", deref(fn.FunctionName), ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s.%s = %v, want %v", webhookFunction, tt.field, tt.got, tt.want)
		}
	}
	// TaskRouter waits at most 15 s for the response.
	if got := deref(fn.Timeout); got < 1 || got >= 15 {
		t.Errorf("%s.Timeout = %d, want 1..14 seconds", webhookFunction, got)
	}

	raw := loadRawTemplate(t)
	logging := join("Resources", webhookFunction, "Properties", "LoggingConfig")
	if g, _ := refName(raw.get(join(logging, "LogGroup"))); g != webhookLogGroup {
		t.Errorf("%s.LogGroup = !Ref %q, want !Ref %s", logging, g, webhookLogGroup)
	}
	level := raw.get(join(logging, "ApplicationLogLevel"))
	if name, arg, ok := intrinsic(level); !ok || name != "Fn::FindInMap" || len(arg.Content) != 3 {
		t.Errorf("%s.ApplicationLogLevel: want !FindInMap [map, !Ref LogLevel, key]", logging)
	} else if p, _ := refName(arg.Content[1]); p != "LogLevel" {
		t.Errorf("%s.ApplicationLogLevel is keyed by !Ref %q, want !Ref LogLevel", logging, p)
	}
	reportFindings(t, "checkFunctionLogging", checkFunctionLogging(raw))
}

// TestTemplateHTTPAPI checks the HTTP API and that its only routes are POST /taskrouter and POST /crm.
func TestTemplateHTTPAPI(t *testing.T) {
	cfn := loadGoformation(t)
	api, err := cfn.GetServerlessHttpApiWithName(httpAPI)
	if err != nil {
		t.Fatalf("GetServerlessHttpApiWithName(%q): %v", httpAPI, err)
	}
	if !deref(api.FailOnWarnings) {
		t.Errorf("%s.FailOnWarnings = false, want true", httpAPI)
	}
	// The output URLs have no stage segment, which is right only for the
	// $default stage SAM creates when StageName is unset.
	if s := deref(api.StageName); s != "" && s != "$default" {
		t.Errorf("%s.StageName = %q, want unset or $default", httpAPI, s)
	}

	fn, err := cfn.GetServerlessFunctionWithName(webhookFunction)
	if err != nil {
		t.Fatalf("GetServerlessFunctionWithName(%q): %v", webhookFunction, err)
	}
	wantEvents := map[string][2]string{"TaskRouter": {"POST", "/taskrouter"}, "Crm": {"POST", "/crm"}, "CrmSource": {"POST", "/crm/{name}"}}
	if len(fn.Events) != len(wantEvents) {
		t.Errorf("%s has %d events, want %d", webhookFunction, len(fn.Events), len(wantEvents))
	}
	for name, want := range wantEvents {
		ev, ok := fn.Events[name]
		if !ok || ev.Type != "HttpApi" || ev.Properties == nil || ev.Properties.HttpApiEvent == nil {
			t.Errorf("event %s: want an HttpApi event", name)
			continue
		}
		got := [2]string{deref(ev.Properties.HttpApiEvent.Method), deref(ev.Properties.HttpApiEvent.Path)}
		if got != want {
			t.Errorf("event %s = %s %s, want %s %s", name, got[0], got[1], want[0], want[1])
		}
	}

	reportFindings(t, "checkHTTPRoutes", checkHTTPRoutes(loadRawTemplate(t), []httpRoute{
		{function: webhookFunction, method: "POST", path: "/taskrouter", api: httpAPI},
		{function: webhookFunction, method: "POST", path: "/crm", api: httpAPI},
		{function: webhookFunction, method: "POST", path: "/crm/{name}", api: httpAPI},
	}))
}

// wantEnv is the function's public configuration: each variable and the
// parameter it comes from.
func wantEnv() []envParameter {
	return []envParameter{
		{"TWILIO_SECRET_ID", "TwilioSecretArn"},
		{"PUBLIC_BASE_URL", "PublicBaseUrl"},
		{"CLOSE_STATUS", "CloseStatus"},
		{"CLOSE_TASKS", "CloseTasks"},
		{"TASKROUTER_CLOSE_EVENTS", "TaskRouterCloseEvents"},
		{"TASKROUTER_WORKSPACE_SID", "TaskRouterWorkspaceSid"},
		{"TASKROUTER_MAX_EVENT_AGE", "TaskRouterMaxEventAge"},
		{"CRM_SOURCES", "CrmSources"},
		{"SECRET_CACHE_TTL", "SecretCacheTtl"},
		{"LOG_LEVEL", "LogLevel"},
		{"DRY_RUN", "DryRun"},
	}
}

// TestTemplateWebhookEnvironment checks that each configuration variable comes from its parameter and no local-only variable is deployed.
func TestTemplateWebhookEnvironment(t *testing.T) {
	cfn := loadGoformation(t)
	fn, err := cfn.GetServerlessFunctionWithName(webhookFunction)
	if err != nil {
		t.Fatalf("GetServerlessFunctionWithName(%q): %v", webhookFunction, err)
	}
	vars := deref(fn.Environment).Variables
	for _, w := range wantEnv() {
		if _, ok := vars[w.env]; !ok {
			t.Errorf("goformation: %s has no environment variable %s", webhookFunction, w.env)
		}
	}
	if v := vars[twilioAPIBaseURLEnv]; v != "" {
		t.Errorf("goformation: %s sets %s = %q; it is for local runs only and must be empty", webhookFunction, twilioAPIBaseURLEnv, v)
	}
	reportFindings(t, "checkEnvironment", checkEnvironment(loadRawTemplate(t), webhookFunction, wantEnv(), localOnlyEnv))
}

// TestTemplateParameters checks each parameter's type, default and constraints.
func TestTemplateParameters(t *testing.T) {
	cfn := loadGoformation(t)
	tests := []struct {
		name     string
		typ      string
		required bool   // no Default: sam deploy --guided asks for it
		def      string // compared with fmt.Sprint(Default)
		allowed  []string
		pattern  string // exact AllowedPattern, if the contract fixes it
		patterns bool   // has an AllowedPattern
	}{
		{name: "TwilioSecretArn", typ: "String", required: true, patterns: true},
		{name: "TwilioSecretKmsKeyArn", typ: "String", def: "", patterns: true},
		{name: "PublicBaseUrl", typ: "String", def: "", patterns: true},
		{name: "CloseStatus", typ: "String", def: "closed", allowed: []string{"closed", "inactive"}},
		{name: "CloseTasks", typ: "String", def: "complete", allowed: []string{"complete", "wrapup"}},
		{name: "TaskRouterCloseEvents", typ: "String", def: "task.canceled,workflow.timeout,task.deleted,task.system-deleted", patterns: true},
		{name: "TaskRouterWorkspaceSid", typ: "String", def: "", pattern: `^$|^WS[0-9a-fA-F]{32}$`, patterns: true},
		{name: "TaskRouterMaxEventAge", typ: "String", def: "15m", patterns: true},
		{name: "CrmSources", typ: "String", def: "", patterns: true},
		{name: "SecretCacheTtl", typ: "String", def: "5m", patterns: true},
		{name: "DeliveryMode", typ: "String", def: "queue", allowed: []string{"queue", "sync"}},
		{name: "DryRun", typ: "String", def: "false", allowed: []string{"true", "false"}},
		{name: "MaxReceiveCount", typ: "Number", def: "8"},
		{name: "CloseDelaySeconds", typ: "Number", def: "10"},
		{name: "WorkerMaxConcurrency", typ: "Number", def: "2"},
		{name: "SweepSchedule", typ: "String", def: "rate(15 minutes)", patterns: true},
		{name: "SweepLookback", typ: "String", def: "2h", patterns: true},
		{name: "LogLevel", typ: "String", def: "info", allowed: []string{"debug", "info", "warn", "error"}},
		{name: "LogRetentionInDays", typ: "Number", def: "30", allowed: []string{
			"1", "3", "5", "7", "14", "30", "60", "90", "120", "150", "180", "365", "400", "545",
			"731", "1096", "1827", "2192", "2557", "2922", "3288", "3653"}},
		// Observability (template_observability_test.go checks their use).
		{name: "Tracing", typ: "String", def: "PassThrough", allowed: []string{"Active", "PassThrough"}},
		{name: "AlarmTopicArn", typ: "String", def: "", patterns: true},
	}
	if len(cfn.Parameters) != len(tests) {
		t.Errorf("template declares %d parameters, want %d", len(cfn.Parameters), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := cfn.Parameters[tt.name]
			if !ok {
				t.Fatalf("parameter %s missing", tt.name)
			}
			if p.Type != tt.typ {
				t.Errorf("%s.Type = %q, want %q", tt.name, p.Type, tt.typ)
			}
			switch {
			case tt.required && p.Default != nil:
				t.Errorf("%s.Default = %v, want none (required)", tt.name, p.Default)
			case !tt.required && p.Default == nil:
				t.Errorf("%s has no Default, want %q", tt.name, tt.def)
			case !tt.required && fmt.Sprint(p.Default) != tt.def:
				t.Errorf("%s.Default = %v, want %q", tt.name, p.Default, tt.def)
			}
			var allowed []string
			for _, v := range p.AllowedValues {
				allowed = append(allowed, fmt.Sprint(v))
			}
			if !slices.Equal(allowed, tt.allowed) {
				t.Errorf("%s.AllowedValues = %v, want %v", tt.name, allowed, tt.allowed)
			}
			if got := p.AllowedPattern != nil; got != tt.patterns {
				t.Errorf("%s has AllowedPattern = %v, want %v", tt.name, got, tt.patterns)
			}
			if tt.pattern != "" && deref(p.AllowedPattern) != tt.pattern {
				t.Errorf("%s.AllowedPattern = %q, want %q", tt.name, deref(p.AllowedPattern), tt.pattern)
			}
			if deref(p.Description) == "" {
				t.Errorf("%s has no Description", tt.name)
			}
		})
	}
	reportFindings(t, "checkParameters", checkParameters(loadRawTemplate(t)))
}

// TestTemplateParameterPatterns checks the AllowedPatterns against values they must accept and reject.
func TestTemplateParameterPatterns(t *testing.T) {
	cfn := loadGoformation(t)
	tests := []struct {
		name      string
		parameter string
		value     string
		want      bool
	}{
		{"secret full ARN", "TwilioSecretArn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:flexhook/twilio-AbC123", true},
		{"secret GovCloud", "TwilioSecretArn", "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:twilio-AbC123", true},
		{"secret European Sovereign Cloud", "TwilioSecretArn", "arn:aws-eusc:secretsmanager:eusc-de-east-1:123456789012:secret:twilio-AbC123", true},
		{"secret China", "TwilioSecretArn", "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:twilio-AbC123", true},
		{"secret name with allowed punctuation", "TwilioSecretArn", "arn:aws:secretsmanager:eu-central-2:123456789012:secret:a/b_c+d=e.f@g-h-XyZ789", true},
		{"secret partial ARN without suffix", "TwilioSecretArn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio", false},
		{"secret wildcard", "TwilioSecretArn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:*", false},
		{"secret name only", "TwilioSecretArn", "flexhook/twilio", false},
		{"secret empty", "TwilioSecretArn", "", false},
		{"secret short account", "TwilioSecretArn", "arn:aws:secretsmanager:us-east-1:12345678901:secret:twilio-AbC123", false},
		{"secret KMS ARN", "TwilioSecretArn", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", false},
		{"kms empty", "TwilioSecretKmsKeyArn", "", true},
		{"kms key", "TwilioSecretKmsKeyArn", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", true},
		{"kms multi-Region key", "TwilioSecretKmsKeyArn", "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab", true},
		{"kms alias", "TwilioSecretKmsKeyArn", "arn:aws:kms:us-east-1:123456789012:alias/twilio", false},
		{"kms wildcard", "TwilioSecretKmsKeyArn", "arn:aws:kms:us-east-1:123456789012:key/*", false},
		{"url empty", "PublicBaseUrl", "", true},
		{"url host", "PublicBaseUrl", "https://hooks.example.com", true},
		{"url with path", "PublicBaseUrl", "https://hooks.example.com/flex", true},
		{"url http", "PublicBaseUrl", "http://hooks.example.com", false},
		{"url query", "PublicBaseUrl", "https://hooks.example.com/?a=b", false},
		{"url fragment", "PublicBaseUrl", "https://hooks.example.com/#rc=3", false},
		{"events default", "TaskRouterCloseEvents", "task.canceled,workflow.timeout,task.deleted,task.system-deleted", true},
		{"events all five", "TaskRouterCloseEvents", "task.canceled,task.completed,task.deleted,task.system-deleted,workflow.timeout", true},
		{"events one", "TaskRouterCloseEvents", "workflow.timeout", true},
		// Only the events the close decision knows (config.CloseEventTypes).
		{"events queue timeout", "TaskRouterCloseEvents", "task-queue.timeout", false},
		{"events wrapup", "TaskRouterCloseEvents", "task.canceled,task.wrapup", false},
		{"events prefix", "TaskRouterCloseEvents", "task.canceledx", false},
		{"events spaces", "TaskRouterCloseEvents", "task.canceled, task.completed", false},
		{"events trailing comma", "TaskRouterCloseEvents", "task.canceled,", false},
		{"events empty", "TaskRouterCloseEvents", "", false},
		{"events wildcard", "TaskRouterCloseEvents", "task.*", false},
		{"workspace empty", "TaskRouterWorkspaceSid", "", true},
		{"workspace SID", "TaskRouterWorkspaceSid", "WS0123456789abcdef0123456789ABCDEF", true},
		{"workspace short", "TaskRouterWorkspaceSid", "WS0123456789abcdef0123456789ABCDE", false},
		{"workspace wrong prefix", "TaskRouterWorkspaceSid", "WW0123456789abcdef0123456789ABCDEF", false},
		{"max age minutes", "TaskRouterMaxEventAge", "15m", true},
		{"max age compound", "TaskRouterMaxEventAge", "1h30m", true},
		{"max age fraction", "TaskRouterMaxEventAge", "1.5h", true},
		{"max age bare number", "TaskRouterMaxEventAge", "15", false},
		{"max age negative", "TaskRouterMaxEventAge", "-5m", false},
		{"max age words", "TaskRouterMaxEventAge", "15 minutes", false},
		{"crm sources empty", "CrmSources", "", true},
		{"crm sources array", "CrmSources", `[{"name":"zendesk","scheme":"zendesk","map":{"task_sid":"/wt"}}]`, true},
		{"crm sources multi-line", "CrmSources", "[\n {\"name\":\"a\"}\n]\n", true},
		{"crm sources object", "CrmSources", `{"name":"zendesk"}`, false},
		{"ttl seconds", "SecretCacheTtl", "300s", true},
		{"ttl milliseconds", "SecretCacheTtl", "1500ms", true},
		{"ttl empty", "SecretCacheTtl", "", false},
		{"ttl days", "SecretCacheTtl", "1d", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := cfn.Parameters[tt.parameter]
			if !ok || p.AllowedPattern == nil {
				t.Fatalf("parameter %s has no AllowedPattern", tt.parameter)
			}
			re, err := cfnPattern(*p.AllowedPattern)
			if err != nil {
				t.Fatalf("cfnPattern(%q): %v", *p.AllowedPattern, err)
			}
			if got := re.MatchString(tt.value); got != tt.want {
				t.Errorf("%s AllowedPattern matches %q = %v, want %v", tt.parameter, tt.value, got, tt.want)
			}
			// A duration the template accepts must be one Go accepts too.
			if tt.want && (tt.parameter == "TaskRouterMaxEventAge" || tt.parameter == "SecretCacheTtl") {
				if _, err := time.ParseDuration(tt.value); err != nil {
					t.Errorf("time.ParseDuration(%q): %v", tt.value, err)
				}
			}
		})
	}
}

// TestTemplateWebhookPolicy checks the function may only read the Twilio secret and, with a customer-managed key, decrypt it.
func TestTemplateWebhookPolicy(t *testing.T) {
	raw := loadRawTemplate(t)
	reportFindings(t, "checkSecretPolicy", checkSecretPolicy(raw, webhookFunction))
	reportFindings(t, "checkInlinePolicies", checkInlinePolicies(raw))
	reportFindings(t, "checkNoWildcards", checkNoWildcards(raw))

	// With the KMS parameter at its default (empty) the condition is false
	// and goformation drops the KMS statement, leaving the secret read alone.
	cfn := loadGoformation(t)
	fn, err := cfn.GetServerlessFunctionWithName(webhookFunction)
	if err != nil {
		t.Fatalf("GetServerlessFunctionWithName(%q): %v", webhookFunction, err)
	}
	docs := deref(deref(fn.Policies).IAMPolicyDocumentArray)
	if len(docs) == 0 {
		t.Fatalf("goformation: %s has no policy documents", webhookFunction)
	}
	var actions []string
	for _, st := range docs[0].Statement {
		if st == nil {
			continue // the !If branch resolved to AWS::NoValue
		}
		actions = append(actions, fmt.Sprint(st.(map[string]any)["Action"]))
	}
	if want := []string{"secretsmanager:GetSecretValue"}; !slices.Equal(actions, want) {
		t.Errorf("goformation: actions with the default KMS key parameter = %v, want %v", actions, want)
	}
}

// TestTemplateReferences checks that every reference resolves and every parameter and condition is used.
func TestTemplateReferences(t *testing.T) {
	reportFindings(t, "checkReferences", checkReferences(loadRawTemplate(t)))
}

// TestTemplateWebhookLogGroup checks the function's log group name and retention.
func TestTemplateWebhookLogGroup(t *testing.T) {
	cfn := loadGoformation(t)
	lg, err := cfn.GetLogsLogGroupWithName(webhookLogGroup)
	if err != nil {
		t.Fatalf("GetLogsLogGroupWithName(%q): %v", webhookLogGroup, err)
	}
	// goformation resolves !Ref LogRetentionInDays to the parameter's default.
	if got := deref(lg.RetentionInDays); got != 30 {
		t.Errorf("%s.RetentionInDays = %d, want 30 by default", webhookLogGroup, got)
	}

	raw := loadRawTemplate(t)
	props := join("Resources", webhookLogGroup, "Properties")
	if p, _ := refName(raw.get(join(props, "RetentionInDays"))); p != "LogRetentionInDays" {
		t.Errorf("%s.RetentionInDays = !Ref %q, want !Ref LogRetentionInDays", props, p)
	}
	const wantName = "/aws/lambda/${AWS::StackName}-webhook"
	if name, _, _ := subTemplate(raw.get(join(props, "LogGroupName"))); name != wantName {
		t.Errorf("%s.LogGroupName = !Sub %q, want !Sub %q", props, name, wantName)
	}
}

// TestTemplateOutputs checks the webhook URL outputs point at the HTTP API routes.
func TestTemplateOutputs(t *testing.T) {
	raw := loadRawTemplate(t)
	routes := httpRoutes(raw)
	subs := []struct {
		output, want, route string
	}{
		{"TaskRouterWebhookUrl", "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/taskrouter", "/taskrouter"},
		{"CrmWebhookUrl", "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/crm", "/crm"},
	}
	for _, tt := range subs {
		got, _, ok := subTemplate(raw.get(join("Outputs", tt.output, "Value")))
		if !ok || got != tt.want {
			t.Errorf("Outputs.%s = !Sub %q, want !Sub %q", tt.output, got, tt.want)
		}
		if !slices.ContainsFunc(routes, func(r httpRoute) bool { return r.path == tt.route && r.api == httpAPI }) {
			t.Errorf("Outputs.%s points at %s, which no HttpApi event of %s serves", tt.output, tt.route, httpAPI)
		}
	}
	if raw.resourceType(httpAPI) != typeHTTPAPI {
		t.Errorf("the URL outputs reference %s, whose type is %q, want %s", httpAPI, raw.resourceType(httpAPI), typeHTTPAPI)
	}
	if name, arg, ok := intrinsic(raw.get("Outputs.WebhookFunctionArn.Value")); !ok || name != "Fn::GetAtt" || scalar(arg) != webhookFunction+".Arn" {
		t.Errorf("Outputs.WebhookFunctionArn: want !GetAtt %s.Arn", webhookFunction)
	}
	if r, _ := refName(raw.get("Outputs.WebhookLogGroupName.Value")); r != webhookLogGroup {
		t.Errorf("Outputs.WebhookLogGroupName = !Ref %q, want !Ref %s", r, webhookLogGroup)
	}
	for _, id := range raw.names("Outputs") {
		if scalar(raw.get(join("Outputs", id, "Description"))) == "" {
			t.Errorf("Outputs.%s has no Description", id)
		}
	}
}

// TestTemplateMakefileTargets checks the Makefile has the target SAM runs for each makefile-built function; it skips until the Makefile exists.
func TestTemplateMakefileTargets(t *testing.T) {
	makefile, err := os.ReadFile(makefileFile)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s does not exist yet", makefileFile)
	}
	if err != nil {
		t.Fatalf("read %s: %v", makefileFile, err)
	}
	reportFindings(t, "checkMakeTargets", checkMakeTargets(loadRawTemplate(t), makefile))
}

// ---------------------------------------------------------------------------
// The checks must fail on a broken template.

// set replaces (or, for a missing last key or index len, adds) the node at a
// dotted path with the YAML snippet.
func set(t *testing.T, tpl rawTemplate, path, snippet string) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(snippet), &doc); err != nil || len(doc.Content) != 1 {
		t.Fatalf("set %s: parse %q: %v", path, snippet, err)
	}
	val := doc.Content[0]
	parentPath, last := "", path
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		parentPath, last = path[:i], path[i+1:]
	}
	parent := tpl.get(parentPath)
	switch {
	case parent == nil:
		t.Fatalf("set %s: no node at %s", path, parentPath)
	case parent.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(parent.Content); i += 2 {
			if parent.Content[i].Value == last {
				parent.Content[i+1] = val
				return
			}
		}
		parent.Content = append(parent.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: last}, val)
	case parent.Kind == yaml.SequenceNode:
		i, err := strconv.Atoi(last)
		switch {
		case err == nil && i == len(parent.Content):
			parent.Content = append(parent.Content, val)
		case err == nil && i >= 0 && i < len(parent.Content):
			parent.Content[i] = val
		default:
			t.Fatalf("set %s: bad index %q", path, last)
		}
	default:
		t.Fatalf("set %s: %s is not a mapping or sequence", path, parentPath)
	}
}

// remove deletes the mapping key at a dotted path.
func remove(t *testing.T, tpl rawTemplate, path string) {
	t.Helper()
	i := strings.LastIndexByte(path, '.')
	if i < 0 || !deleteKey(tpl.get(path[:i]), path[i+1:]) {
		t.Fatalf("remove %s: no such key", path)
	}
}

// TestTemplateChecksDetectBreakage mutates the template in memory and checks that each check reports the damage.
func TestTemplateChecksDetectBreakage(t *testing.T) {
	const (
		fnProps   = "Resources.WebhookFunction.Properties"
		vars      = fnProps + ".Environment.Variables"
		statement = fnProps + ".Policies.0.Statement"
	)
	policy := func(tpl rawTemplate) []finding { return checkSecretPolicy(tpl, webhookFunction) }
	env := func(tpl rawTemplate) []finding {
		return checkEnvironment(tpl, webhookFunction, wantEnv(), localOnlyEnv)
	}
	routes := func(tpl rawTemplate) []finding {
		return checkHTTPRoutes(tpl, []httpRoute{
			{function: webhookFunction, method: "POST", path: "/taskrouter", api: httpAPI},
			{function: webhookFunction, method: "POST", path: "/crm", api: httpAPI},
		})
	}
	makefile := func(content string) func(rawTemplate) []finding {
		return func(tpl rawTemplate) []finding { return checkMakeTargets(tpl, []byte(content)) }
	}
	tests := []struct {
		name   string
		mutate func(t *testing.T, tpl rawTemplate)
		check  func(rawTemplate) []finding
		rule   rule
		path   string
	}{
		{
			name:   "Ref to an undeclared parameter",
			mutate: func(t *testing.T, tpl rawTemplate) { set(t, tpl, vars+".LOG_LEVEL", "!Ref LogLevl") },
			check:  checkReferences, rule: ruleUnresolvedReference, path: vars + ".LOG_LEVEL",
		},
		{
			name: "long-form Ref to an undeclared resource",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, "Outputs.WebhookLogGroupName.Value", "{Ref: LogGroup}")
			},
			check: checkReferences, rule: ruleUnresolvedReference, path: "Outputs.WebhookLogGroupName.Value",
		},
		{
			name: "Sub names an undeclared resource",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, "Outputs.CrmWebhookUrl.Value", "!Sub https://${HttpAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/crm")
			},
			check: checkReferences, rule: ruleUnresolvedReference, path: "Outputs.CrmWebhookUrl.Value",
		},
		{
			name: "Sub names an attribute of an undeclared resource",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, "Outputs.CrmWebhookUrl.Value", "!Sub ${Api.ApiEndpoint}/crm")
			},
			check: checkReferences, rule: ruleUnresolvedReference, path: "Outputs.CrmWebhookUrl.Value",
		},
		{
			name: "GetAtt names an undeclared resource",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, "Outputs.WebhookFunctionArn.Value", "!GetAtt WebhookFn.Arn")
			},
			check: checkReferences, rule: ruleUnresolvedReference, path: "Outputs.WebhookFunctionArn.Value",
		},
		{
			name:   "If names an undeclared condition",
			mutate: func(t *testing.T, tpl rawTemplate) { set(t, tpl, statement+".1.0", "HasKmsKey") },
			check:  checkReferences, rule: ruleUnresolvedReference, path: statement + ".1.0",
		},
		{
			name: "FindInMap lacks an entry for an allowed parameter value",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, "Parameters.LogLevel.AllowedValues.4", "trace")
			},
			check: checkReferences, rule: ruleUnresolvedReference, path: fnProps + ".LoggingConfig.ApplicationLogLevel",
		},
		{
			name: "unused parameter",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, "Parameters.Orphan", "{Type: String, Default: x, AllowedValues: [x]}")
			},
			check: checkReferences, rule: ruleUnusedDeclaration, path: "Parameters.Orphan",
		},
		{
			name:   "wildcard action",
			mutate: func(t *testing.T, tpl rawTemplate) { set(t, tpl, statement+".0.Action", "secretsmanager:*") },
			check:  checkNoWildcards, rule: ruleWildcard, path: statement + ".0.Action",
		},
		{
			name: "wildcard resource inside Sub",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, statement+".0.Resource", "!Sub arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:*")
			},
			check: checkNoWildcards, rule: ruleWildcard, path: statement + ".0.Resource",
		},
		{
			name: "wildcard in a new resource's policy",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, "Resources.Extra", `{Type: AWS::IAM::ManagedPolicy, Properties: {PolicyDocument: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: [sqs:SendMessage], Resource: ["*"]}]}}}`)
			},
			check: checkNoWildcards, rule: ruleWildcard, path: "Resources.Extra.Properties.PolicyDocument.Statement.0.Resource.0",
		},
		{
			name: "second action on the secret",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, statement+".0.Action", "[secretsmanager:GetSecretValue, secretsmanager:DescribeSecret]")
			},
			check: policy, rule: rulePolicy, path: statement + ".0.Action",
		},
		{
			name: "secret read on the wrong resource",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, statement+".0.Resource", "!Ref TwilioSecretKmsKeyArn")
			},
			check: policy, rule: rulePolicy, path: statement + ".0.Resource",
		},
		{
			name: "KMS statement without the If",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, statement+".1", "{Effect: Allow, Action: kms:Decrypt, Resource: !Ref TwilioSecretKmsKeyArn}")
			},
			check: policy, rule: rulePolicy, path: statement + ".1",
		},
		{
			name:   "KMS statement without kms:ViaService",
			mutate: func(t *testing.T, tpl rawTemplate) { remove(t, tpl, statement+".1.1.Condition") },
			check:  policy, rule: rulePolicy, path: statement + ".1.1.Condition",
		},
		{
			name:   "KMS condition always true",
			mutate: func(t *testing.T, tpl rawTemplate) { set(t, tpl, "Conditions.HasTwilioSecretKmsKey", `!Equals [a, a]`) },
			check:  policy, rule: rulePolicy, path: "Conditions.HasTwilioSecretKmsKey",
		},
		{
			name: "extra statement",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, statement+".2", "{Effect: Allow, Action: sqs:SendMessage, Resource: !Ref TwilioSecretArn}")
			},
			check: policy, rule: rulePolicy, path: statement,
		},
		{
			name: "SAM policy template",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, fnProps+".Policies.1", "{AWSSecretsManagerGetSecretValuePolicy: {SecretArn: !Ref TwilioSecretArn}}")
			},
			check: checkInlinePolicies, rule: rulePolicyTemplate, path: fnProps + ".Policies.1",
		},
		{
			name:   "managed policy",
			mutate: func(t *testing.T, tpl rawTemplate) { set(t, tpl, fnProps+".Policies.1", "AWSLambdaBasicExecutionRole") },
			check:  checkInlinePolicies, rule: rulePolicyTemplate, path: fnProps + ".Policies.1",
		},
		{
			name: "local-only variable deployed",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, vars+"."+twilioAPIBaseURLEnv, "http://127.0.0.1:8080")
			},
			check: env, rule: ruleEnvForbidden, path: vars + "." + twilioAPIBaseURLEnv,
		},
		{
			name: "local-only variable in Globals",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, "Globals", "{Function: {Environment: {Variables: {TWILIO_API_BASE_URL: http://127.0.0.1:8080}}}}")
			},
			check: env, rule: ruleEnvForbidden, path: "Globals.Function.Environment.Variables." + twilioAPIBaseURLEnv,
		},
		{
			name:   "variable hard-coded instead of a parameter",
			mutate: func(t *testing.T, tpl rawTemplate) { set(t, tpl, vars+".CLOSE_STATUS", "closed") },
			check:  env, rule: ruleEnvParameter, path: vars + ".CLOSE_STATUS",
		},
		{
			name:   "variable from the wrong parameter",
			mutate: func(t *testing.T, tpl rawTemplate) { set(t, tpl, vars+".CLOSE_TASKS", "!Ref CloseStatus") },
			check:  env, rule: ruleEnvParameter, path: vars + ".CLOSE_TASKS",
		},
		{
			name:   "variable missing",
			mutate: func(t *testing.T, tpl rawTemplate) { remove(t, tpl, vars+".SECRET_CACHE_TTL") },
			check:  env, rule: ruleEnvMissing, path: vars + ".SECRET_CACHE_TTL",
		},
		{
			name: "default does not match the pattern",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, "Parameters.TaskRouterMaxEventAge.Default", "15 minutes")
			},
			check: checkParameters, rule: ruleBadDefault, path: "Parameters.TaskRouterMaxEventAge.Default",
		},
		{
			name:   "default not an allowed value",
			mutate: func(t *testing.T, tpl rawTemplate) { set(t, tpl, "Parameters.CloseStatus.Default", "open") },
			check:  checkParameters, rule: ruleBadDefault, path: "Parameters.CloseStatus.Default",
		},
		{
			name: "pattern does not compile",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, "Parameters.SecretCacheTtl.AllowedPattern", "'^([0-9]+$'")
			},
			check: checkParameters, rule: ruleBadPattern, path: "Parameters.SecretCacheTtl.AllowedPattern",
		},
		{
			name:   "unconstrained String parameter",
			mutate: func(t *testing.T, tpl rawTemplate) { remove(t, tpl, "Parameters.PublicBaseUrl.AllowedPattern") },
			check:  checkParameters, rule: ruleUnconstrained, path: "Parameters.PublicBaseUrl",
		},
		{
			name: "parameter in no group",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, "Parameters.Extra", "{Type: String, Default: x, AllowedValues: [x]}")
			},
			check: checkParameters, rule: ruleParameterGroup, path: "Parameters.Extra",
		},
		{
			name:   "text logs",
			mutate: func(t *testing.T, tpl rawTemplate) { set(t, tpl, fnProps+".LoggingConfig.LogFormat", "Text") },
			check:  checkFunctionLogging, rule: ruleLogging, path: fnProps + ".LoggingConfig.LogFormat",
		},
		{
			name: "log group outside the template",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, fnProps+".LoggingConfig.LogGroup", "/aws/lambda/elsewhere")
			},
			check: checkFunctionLogging, rule: ruleLogging, path: fnProps + ".LoggingConfig.LogGroup",
		},
		{
			name:   "no application log level",
			mutate: func(t *testing.T, tpl rawTemplate) { remove(t, tpl, fnProps+".LoggingConfig.ApplicationLogLevel") },
			check:  checkFunctionLogging, rule: ruleLogging, path: fnProps + ".LoggingConfig.ApplicationLogLevel",
		},
		{
			name: "log group without retention",
			mutate: func(t *testing.T, tpl rawTemplate) {
				remove(t, tpl, "Resources.WebhookLogGroup.Properties.RetentionInDays")
			},
			check: checkFunctionLogging, rule: ruleLogging, path: "Resources.WebhookLogGroup.Properties.RetentionInDays",
		},
		{
			name: "extra route",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, fnProps+".Events.Debug", "{Type: HttpApi, Properties: {ApiId: !Ref HttpApi, Method: GET, Path: /debug}}")
			},
			check: routes, rule: ruleRoute, path: fnProps + ".Events",
		},
		{
			name:   "route on the implicit API",
			mutate: func(t *testing.T, tpl rawTemplate) { remove(t, tpl, fnProps+".Events.Crm.Properties.ApiId") },
			check:  routes, rule: ruleRoute, path: fnProps + ".Events",
		},
		{
			name: "route method changed",
			mutate: func(t *testing.T, tpl rawTemplate) {
				set(t, tpl, fnProps+".Events.TaskRouter.Properties.Method", "ANY")
			},
			check: routes, rule: ruleRoute, path: fnProps + ".Events",
		},
		{
			name:   "Makefile without the build target",
			mutate: func(*testing.T, rawTemplate) {},
			check:  makefile("build:\n\tgo build ./...\nbuild-WebhookFunctionX:\n\ttrue\nbuild-WebhookFunction := x\n"),
			rule:   ruleMakeTarget, path: "Resources.WebhookFunction.Metadata.BuildMethod",
		},
	}
	data := readTemplate(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := parseRawTemplate(data)
			if err != nil {
				t.Fatalf("parseRawTemplate: %v", err)
			}
			tt.mutate(t, tpl)
			fs := tt.check(tpl)
			if !slices.ContainsFunc(fs, func(f finding) bool { return f.rule == tt.rule && f.path == tt.path }) {
				t.Errorf("check found %v, want a %s finding at %s", fs, tt.rule, tt.path)
			}
		})
	}
}

// TestMakeTargets checks the Makefile rule parser.
func TestMakeTargets(t *testing.T) {
	tests := []struct {
		name     string
		makefile string
		want     []string
	}{
		{"single target", "build-WebhookFunction:\n\tgo build\n", []string{"build-WebhookFunction"}},
		{"target with prerequisites", "build-WebhookFunction: generate\n", []string{"build-WebhookFunction"}},
		{"several targets on one rule", "build-WebhookFunction build-WorkerFunction: ; true\n", []string{"build-WebhookFunction", "build-WorkerFunction"}},
		{"double-colon rule", "build-WebhookFunction::\n", []string{"build-WebhookFunction"}},
		{"simple assignment", "GOFLAGS := -trimpath\n", nil},
		{"POSIX assignment", "GOFLAGS ::= -trimpath\n", nil},
		{"recipe line", "all:\n\tbuild-WebhookFunction: x\n", []string{"all"}},
		{"comment", "# build-WebhookFunction:\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := makeTargets([]byte(tt.makefile)); !slices.Equal(got, tt.want) {
				t.Errorf("makeTargets(%q) = %q, want %q", tt.makefile, got, tt.want)
			}
		})
	}
}

// TestSubVariables checks the Fn::Sub variable parser.
func TestSubVariables(t *testing.T) {
	tests := []struct {
		name string
		tmpl string
		want []string
	}{
		{"none", "plain", nil},
		{"pseudo and resource", "https://${HttpApi}.execute-api.${AWS::Region}.x", []string{"HttpApi", "AWS::Region"}},
		{"attribute", "${Queue.Arn}", []string{"Queue.Arn"}},
		{"escaped literal", "${!NotAVariable}-${Real}", []string{"Real"}},
		{"unterminated", "${Open", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := subVariables(tt.tmpl); !slices.Equal(got, tt.want) {
				t.Errorf("subVariables(%q) = %q, want %q", tt.tmpl, got, tt.want)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// samconfig.toml.

// TestSamconfig checks the SAM CLI defaults and that parameter overrides fit the template.
func TestSamconfig(t *testing.T) {
	var cfg map[string]any
	if _, err := toml.DecodeFile(samconfigFile, &cfg); err != nil {
		t.Fatalf("decode %s: %v", samconfigFile, err)
	}
	if v, ok := cfg["version"].(float64); !ok || v != 0.1 {
		t.Errorf("version = %v, want 0.1", cfg["version"])
	}
	env, _ := cfg["default"].(map[string]any)
	params := func(command string) map[string]any {
		c, _ := env[command].(map[string]any)
		p, _ := c["parameters"].(map[string]any)
		return p
	}
	tests := []struct {
		command, key string
		want         any
	}{
		{"global", "stack_name", "flexhook"},
		{"build", "cached", true},
		{"build", "parallel", true},
		{"deploy", "stack_name", "flexhook"},
		{"deploy", "capabilities", "CAPABILITY_IAM"},
		{"deploy", "confirm_changeset", true},
		{"deploy", "resolve_s3", true},
		{"validate", "lint", true},
	}
	for _, tt := range tests {
		if got := params(tt.command)[tt.key]; got != tt.want {
			t.Errorf("default.%s.parameters.%s = %v, want %v", tt.command, tt.key, got, tt.want)
		}
	}
	if params("local_invoke") == nil {
		t.Error("default.local_invoke.parameters missing")
	}
	for command := range env {
		if _, ok := params(command)["region"]; ok {
			t.Errorf("default.%s.parameters sets region; leave it to the AWS profile", command)
		}
	}

	// Parameter overrides must name template parameters and pass their
	// constraints, or SAM rejects them.
	cfn := loadGoformation(t)
	for command := range env {
		overrides, _ := params(command)["parameter_overrides"].(string)
		for _, kv := range strings.Fields(overrides) {
			k, v, _ := strings.Cut(kv, "=")
			p, ok := cfn.Parameters[k]
			if !ok {
				t.Errorf("default.%s.parameters.parameter_overrides sets %q, which the template does not declare", command, k)
				continue
			}
			if len(p.AllowedValues) > 0 && !slices.ContainsFunc(p.AllowedValues, func(a any) bool { return fmt.Sprint(a) == v }) {
				t.Errorf("default.%s.parameters.parameter_overrides: %s=%q is not in %v", command, k, v, p.AllowedValues)
			}
			if p.AllowedPattern != nil {
				if re, err := cfnPattern(*p.AllowedPattern); err == nil && !re.MatchString(v) {
					t.Errorf("default.%s.parameters.parameter_overrides: %s=%q does not match %s", command, k, v, *p.AllowedPattern)
				}
			}
		}
	}
}
