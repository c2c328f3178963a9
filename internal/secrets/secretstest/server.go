package secretstest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Region and AccountID appear in every ARN the Server issues.
const (
	Region    = "us-east-1"
	AccountID = "123456789012"
)

// Staging labels that Secrets Manager manages itself.
const (
	StageCurrent  = "AWSCURRENT"
	StagePrevious = "AWSPREVIOUS"
)

// OpGetSecretValue is the operation the Server implements, as it follows
// "secretsmanager." in the X-Amz-Target header. Count and Fault.Operation
// take such names.
const OpGetSecretValue = "GetSecretValue"

// targetPrefix starts the X-Amz-Target header of every Secrets Manager call.
const targetPrefix = "secretsmanager."

// maxBody bounds request bodies; Secrets Manager secrets are at most 64 KiB.
const maxBody = 1 << 20

// Options configures a Server. The zero value is ready to use.
type Options struct {
	// Now returns the current time, which stamps the CreatedDate of new
	// versions. Nil means time.Now.
	Now func() time.Time
}

// Server is a fake Secrets Manager endpoint. It is an http.Handler, so tests
// usually serve it with httptest.NewServer; its methods are safe for
// concurrent use, also while requests are being served.
type Server struct {
	now func() time.Time

	mu      sync.Mutex
	secrets map[string]*secret // by name
	faults  []*Fault           // pending faults, oldest first; Times counts down
	calls   int
	counts  map[string]int // by operation name
}

// secret is one named secret and its versions.
type secret struct {
	name     string
	arn      string
	versions map[string]*version // by VersionId
	stages   map[string]string   // staging label → VersionId
}

// version is one immutable version of a secret's value.
type version struct {
	id      string
	str     string
	created time.Time
}

// New returns an empty Server that uses the system clock.
func New() *Server {
	return NewWithOptions(Options{})
}

// NewWithOptions returns an empty Server configured by o.
func NewWithOptions(o Options) *Server {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Server{
		now:     now,
		secrets: make(map[string]*secret),
		counts:  make(map[string]int),
	}
}

// ARN returns the ARN the Server gives the secret called name:
// arn:aws:secretsmanager:us-east-1:123456789012:secret:NAME-XXXXXX, where the
// six-character suffix, random in AWS, is derived from the name so that it is
// the same in every Server.
func ARN(name string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	sum := sha256.Sum256([]byte(name))
	var suffix [6]byte
	for i := range suffix {
		suffix[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return partialARN(name) + "-" + string(suffix[:])
}

// partialARN is the ARN of the secret called name without the random suffix,
// which Secrets Manager also accepts as a SecretId.
func partialARN(name string) string {
	return "arn:aws:secretsmanager:" + Region + ":" + AccountID + ":secret:" + name
}

// Put stores secretString as a new version of the secret called name,
// creating the secret if needed, and returns the new VersionId. The new version
// becomes AWSCURRENT and the version that was current becomes AWSPREVIOUS, as
// a rotation or PutSecretValue does.
func (s *Server) Put(name, secretString string) (versionID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[name]
	if sec == nil {
		sec = s.create(name)
	}
	id := newUUID()
	sec.add(&version{id: id, str: secretString, created: s.now()})
	return id
}

// Calls returns the number of requests the Server has received, whatever
// their operation and outcome, injected faults included.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Count returns the number of requests the Server has received for one
// operation, given as "GetSecretValue" or as the full X-Amz-Target value
// "secretsmanager.GetSecretValue".
func (s *Server) Count(operation string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[strings.TrimPrefix(operation, targetPrefix)]
}

// create adds an empty secret called name. The caller holds s.mu.
func (s *Server) create(name string) *secret {
	sec := &secret{
		name:     name,
		arn:      ARN(name),
		versions: make(map[string]*version),
		stages:   make(map[string]string),
	}
	s.secrets[name] = sec
	return sec
}

// lookup finds a secret by name, full ARN or partial ARN. The caller holds s.mu.
func (s *Server) lookup(id string) *secret {
	if sec, ok := s.secrets[id]; ok {
		return sec
	}
	if !strings.HasPrefix(id, "arn:") {
		return nil
	}
	for _, sec := range s.secrets {
		if id == sec.arn || id == partialARN(sec.name) {
			return sec
		}
	}
	return nil
}

// add stores v as AWSCURRENT; the version that was current becomes
// AWSPREVIOUS.
func (sec *secret) add(v *version) {
	sec.versions[v.id] = v
	if old, ok := sec.stages[StageCurrent]; ok {
		sec.stages[StagePrevious] = old
	}
	sec.stages[StageCurrent] = v.id
}

// stagesOf returns the sorted staging labels attached to the version id.
func (sec *secret) stagesOf(id string) []string {
	var out []string
	for st, vid := range sec.stages {
		if vid == id {
			out = append(out, st)
		}
	}
	slices.Sort(out)
	return out
}

// apiError is an error answer in the Secrets Manager wire format.
type apiError struct {
	status  int
	typ     string
	message string
}

func (e *apiError) Error() string { return e.typ + ": " + e.message }

// errNotFound is the answer for an unknown secret.
func errNotFound() *apiError {
	return &apiError{http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."}
}

// ServeHTTP answers one Secrets Manager API call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-amzn-RequestId", newUUID())
	target := r.Header.Get("X-Amz-Target")
	op, known := strings.CutPrefix(target, targetPrefix)
	if !known {
		op = target
	}
	s.record(op)

	if r.Header.Get("Authorization") == "" {
		writeError(w, &apiError{http.StatusBadRequest, "MissingAuthenticationTokenException", "Missing Authentication Token"})
		return
	}
	if r.Method != http.MethodPost || !known || op != OpGetSecretValue {
		writeError(w, &apiError{http.StatusBadRequest, "UnknownOperationException", ""})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, &apiError{http.StatusBadRequest, "SerializationException", "Request body could not be read."})
		return
	}
	if f := s.takeFault(op); f != nil && f.Type != "" {
		writeError(w, f.apiError(op))
		return
	}

	var in getSecretValueInput
	var out *getSecretValueOutput
	if err = decode(body, &in); err == nil {
		out, err = s.getSecretValue(in)
	}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{http.StatusInternalServerError, "InternalServiceError", err.Error()}
		}
		writeError(w, ae)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// record counts a call to op.
func (s *Server) record(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.counts[op]++
}

// takeFault takes the first pending fault for a call to op, if any.
func (s *Server) takeFault(op string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Operation != "" && f.Operation != op {
			continue
		}
		taken := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		return &taken
	}
	return nil
}

// decode parses a JSON request body.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return &apiError{http.StatusBadRequest, "SerializationException", "Start of structure or map found where not expected."}
	}
	return nil
}

// getSecretValueInput is the GetSecretValue request body.
type getSecretValueInput struct {
	SecretID     string `json:"SecretId"`
	VersionID    string `json:"VersionId"`
	VersionStage string `json:"VersionStage"`
}

// getSecretValueOutput is the GetSecretValue response body.
type getSecretValueOutput struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"Name"`
	VersionID     string   `json:"VersionId"`
	SecretString  string   `json:"SecretString"`
	VersionStages []string `json:"VersionStages"`
	CreatedDate   float64  `json:"CreatedDate"`
}

func (s *Server) getSecretValue(in getSecretValueInput) (*getSecretValueOutput, error) {
	if in.SecretID == "" {
		return nil, errMissing("secretId")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.lookup(in.SecretID)
	if sec == nil {
		return nil, errNotFound()
	}
	var v *version
	switch {
	case in.VersionID != "":
		v = sec.versions[in.VersionID]
		if v == nil || (in.VersionStage != "" && sec.stages[in.VersionStage] != in.VersionID) {
			return nil, &apiError{http.StatusBadRequest, "ResourceNotFoundException",
				"Secrets Manager can't find the specified secret value for VersionId: " + in.VersionID}
		}
	default:
		stage := in.VersionStage
		if stage == "" {
			stage = StageCurrent
		}
		v = sec.versions[sec.stages[stage]]
		if v == nil {
			return nil, &apiError{http.StatusBadRequest, "ResourceNotFoundException",
				"Secrets Manager can't find the specified secret value for staging label: " + stage}
		}
	}
	return &getSecretValueOutput{
		ARN:           sec.arn,
		Name:          sec.name,
		VersionID:     v.id,
		SecretString:  v.str,
		VersionStages: sec.stagesOf(v.id),
		CreatedDate:   float64(v.created.UnixMilli()) / 1000,
	}, nil
}

// errMissing is the answer for a request without a required member.
func errMissing(member string) *apiError {
	return &apiError{http.StatusBadRequest, "ValidationException",
		fmt.Sprintf("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)}
}

// writeError sends e as Secrets Manager does: the status, and a JSON body
// whose "__type" the SDK maps to its error types.
func writeError(w http.ResponseWriter, e *apiError) {
	body := struct {
		Type    string `json:"__type"`
		Message string `json:"Message,omitempty"`
	}{e.typ, e.message}
	writeJSON(w, e.status, body)
}

// writeJSON sends v as an AWS JSON 1.1 body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"__type":"InternalServiceError","Message":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// newUUID returns a random version 4 UUID, the form AWS uses for VersionId
// and request ids.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms.
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
