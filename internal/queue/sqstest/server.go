package sqstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/flexhook/flexhook/internal/local/process"
)

// Fixed names of the local queues' account and Region.
const (
	// AccountID is the account in the queues' URLs and ARNs.
	AccountID = "000000000000"
	// Region is the Region of the queues' ARNs and of NewClient.
	Region = "us-east-1"
	// DefaultQueueName is the base name of the queues unless
	// Options.QueueName says otherwise.
	DefaultQueueName = "flexhook-close"
)

// Defaults of Options.
const (
	DefaultMaxReceiveCount   = 3
	DefaultVisibilityTimeout = 30 * time.Second
	DefaultStartTimeout      = 20 * time.Second
)

// goawsTool is the package of the pinned goaws command.
const goawsTool = "github.com/Admiral-Piett/goaws/app/cmd"

// Options configure Start.
type Options struct {
	// QueueName is the base name of the queues (default DefaultQueueName):
	// <name>.fifo with dead-letter queue <name>-dlq.fifo, and the standard
	// pair <name> and <name>-dlq.
	QueueName string
	// MaxReceiveCount is the redrive policy's maxReceiveCount: how many
	// times a message is received before it moves to the dead-letter queue
	// (default DefaultMaxReceiveCount).
	MaxReceiveCount int
	// VisibilityTimeout is the queues' visibility timeout, in whole seconds
	// of at least one (default DefaultVisibilityTimeout).
	VisibilityTimeout time.Duration
	// Port is the TCP port to listen on; 0 picks a free one.
	Port int
	// Output receives goaws's log; nil discards it.
	Output io.Writer
	// StartTimeout bounds the wait for goaws to answer (default
	// DefaultStartTimeout).
	StartTimeout time.Duration
}

// Server is a running goaws.
type Server struct {
	endpoint string
	name     string
	dir      string
	cmd      *exec.Cmd
	exited   chan struct{}
	out      *process.Tail
	probe    string // a queue only this instance has, to tell it from another server on the port
	client   *sqs.Client

	closeOnce sync.Once
	closeErr  error
}

// ErrExited is returned by Start when goaws exits before answering.
var ErrExited = errors.New("sqstest: goaws exited")

// ErrNotReady is returned by Start when goaws does not answer in time.
var ErrNotReady = errors.New("sqstest: goaws did not become ready")

// Start writes the configuration, launches goaws and waits until it
// answers. When Options.Port is 0 and the chosen port is taken before goaws
// binds it, Start tries another. The caller must Close the Server. ctx
// bounds the start only.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.QueueName == "" {
		o.QueueName = DefaultQueueName
	}
	if o.MaxReceiveCount <= 0 {
		o.MaxReceiveCount = DefaultMaxReceiveCount
	}
	if o.VisibilityTimeout <= 0 {
		o.VisibilityTimeout = DefaultVisibilityTimeout
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if strings.HasSuffix(o.QueueName, ".fifo") || strings.ContainsAny(o.QueueName, "/: ") {
		return nil, fmt.Errorf("sqstest: invalid queue base name %q", o.QueueName)
	}
	bin, err := Binary(ctx)
	if err != nil {
		return nil, err
	}
	const attempts = 3
	for i := 1; ; i++ {
		port := o.Port
		if port == 0 {
			if port, err = process.FreePort(); err != nil {
				return nil, err
			}
		}
		s, err := launch(ctx, o, bin, port)
		if err == nil || o.Port != 0 || i == attempts || !errors.Is(err, errPortInUse) {
			return s, err
		}
	}
}

// New starts a Server for t with Start and closes it when t ends. It fails
// t if goaws cannot start.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, o)
	if err != nil {
		t.Fatalf("sqstest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("sqstest: %v", err)
		}
	})
	return s
}

var errPortInUse = errors.New("port in use")

// config is goaws's configuration file: one environment, "Local". goaws
// reads it as YAML, of which JSON is a subset.
type config struct {
	Host                   string
	Port                   string
	AccountID              string
	EnableDuplicates       bool
	LogToFile              bool
	QueueAttributeDefaults queueDefaults
	Queues                 []queueConfig
}

type queueDefaults struct {
	VisibilityTimeout             int
	ReceiveMessageWaitTimeSeconds int
}

type queueConfig struct {
	Name              string
	VisibilityTimeout int
	RedrivePolicy     string `json:",omitempty"`
}

func configFile(o Options, port int, probe string) ([]byte, error) {
	vis := int((o.VisibilityTimeout + time.Second - 1) / time.Second)
	policy := func(dlq string) string {
		p, _ := json.Marshal(map[string]any{
			"maxReceiveCount":     o.MaxReceiveCount,
			"deadLetterTargetArn": "arn:aws:sqs:" + Region + ":" + AccountID + ":" + dlq,
		})
		return string(p)
	}
	n := o.QueueName
	c := config{
		// No Region: goaws would put it in front of Host in queue URLs.
		Host:                   "127.0.0.1",
		Port:                   strconv.Itoa(port),
		AccountID:              AccountID,
		EnableDuplicates:       true,
		QueueAttributeDefaults: queueDefaults{VisibilityTimeout: vis},
		Queues: []queueConfig{
			{Name: n + "-dlq.fifo", VisibilityTimeout: vis},
			{Name: n + ".fifo", VisibilityTimeout: vis, RedrivePolicy: policy(n + "-dlq.fifo")},
			{Name: n + "-dlq", VisibilityTimeout: vis},
			{Name: n, VisibilityTimeout: vis, RedrivePolicy: policy(n + "-dlq")},
			{Name: probe, VisibilityTimeout: vis},
		},
	}
	return json.MarshalIndent(map[string]config{"Local": c}, "", "  ")
}

func launch(ctx context.Context, o Options, bin string, port int) (*Server, error) {
	dir, err := os.MkdirTemp("", "flexhook-goaws-")
	if err != nil {
		return nil, fmt.Errorf("sqstest: %w", err)
	}
	probe := probeName()
	cfg, err := configFile(o, port, probe)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "goaws.yaml"), cfg, 0o600)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("sqstest: write goaws configuration: %w", err)
	}
	s := &Server{
		endpoint: "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		name:     o.QueueName,
		dir:      dir,
		exited:   make(chan struct{}),
		out:      &process.Tail{Max: 8 << 10},
		probe:    probe,
	}
	// At info level goaws logs message bodies.
	s.cmd = exec.Command(bin, "-config", filepath.Join(dir, "goaws.yaml"), "-loglevel", "error", "Local")
	// goaws looks for a goaws.yaml under its working directory when no
	// -config is given; run it where only ours is.
	s.cmd.Dir = dir
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	if o.Output != nil {
		s.cmd.Stdout = io.MultiWriter(s.out, o.Output)
		s.cmd.Stderr = s.cmd.Stdout
	}
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("sqstest: start %s: %w", bin, err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx, o.StartTimeout); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	s.client = NewClient(s.endpoint)
	return s, nil
}

// waitReady polls goaws until it answers as this instance — it knows the
// instance's probe queue, which another server on the same port would not —
// or it exits, ctx ends or wait passes.
func (s *Server) waitReady(ctx context.Context, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	form := url.Values{"Action": {"GetQueueUrl"}, "QueueName": {s.probe}}.Encode()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint+"/", strings.NewReader(form))
		if err != nil {
			return fmt.Errorf("sqstest: %w", err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if resp, err := client.Do(req); err == nil {
			ok := resp.StatusCode == http.StatusOK
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if ok {
				return nil
			}
		}
		select {
		case <-s.exited:
			if strings.Contains(s.out.String(), "address already in use") {
				return fmt.Errorf("%w on %s: %w", ErrExited, s.endpoint, errPortInUse)
			}
			return fmt.Errorf("%w before answering: %s; log: %s", ErrExited, s.cmd.ProcessState, s.out)
		case <-ctx.Done():
			return fmt.Errorf("%w at %s within %v: %v; log: %s", ErrNotReady, s.endpoint, wait, ctx.Err(), s.out)
		case <-tick.C:
		}
	}
}

// probeName returns a queue name unique to one server instance.
func probeName() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "sqstest-probe-" + hex.EncodeToString(b[:])
}

// Close kills goaws's process group, waits until it is gone and removes its
// configuration. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		defer os.RemoveAll(s.dir)
		if s.client != nil {
			// Idle keep-alive connections would otherwise outlive the
			// server in the client's pool.
			if c, ok := s.client.Options().HTTPClient.(interface{ CloseIdleConnections() }); ok {
				c.CloseIdleConnections()
			}
		}
		select {
		case <-s.exited:
			return
		default:
		}
		if err := killGroup(s.cmd.Process.Pid); err != nil {
			s.closeErr = fmt.Errorf("sqstest: kill goaws: %w", err)
			return
		}
		t := time.NewTimer(10 * time.Second)
		defer t.Stop()
		select {
		case <-s.exited:
		case <-t.C:
			s.closeErr = fmt.Errorf("sqstest: goaws (pid %d) still running after SIGKILL", s.cmd.Process.Pid)
		}
	})
	return s.closeErr
}

// Endpoint returns the server's base URL, such as http://127.0.0.1:41234:
// the value for AWS_ENDPOINT_URL_SQS or an SQS client's BaseEndpoint.
func (s *Server) Endpoint() string { return s.endpoint }

// Client returns an SQS client for the server (see NewClient).
func (s *Server) Client() *sqs.Client { return s.client }

// URL returns the URL of the queue called name on this server.
func (s *Server) URL(name string) string { return s.endpoint + "/" + AccountID + "/" + name }

// QueueURL returns the URL of the FIFO close queue.
func (s *Server) QueueURL() string { return s.URL(s.name + ".fifo") }

// DLQURL returns the URL of the FIFO close queue's dead-letter queue.
func (s *Server) DLQURL() string { return s.URL(s.name + "-dlq.fifo") }

// StandardQueueURL returns the URL of the standard close queue.
func (s *Server) StandardQueueURL() string { return s.URL(s.name) }

// StandardDLQURL returns the URL of the standard close queue's dead-letter
// queue.
func (s *Server) StandardDLQURL() string { return s.URL(s.name + "-dlq") }

// ARN returns the ARN of the queue at queueURL, in Region and AccountID, as
// a Lambda event source mapping names it.
func ARN(queueURL string) string {
	return "arn:aws:sqs:" + Region + ":" + AccountID + ":" + queueURL[strings.LastIndexByte(queueURL, '/')+1:]
}

// Counts are the number of messages a goaws queue holds.
type Counts struct {
	// Total counts every message, visible or in flight (goaws's
	// ApproximateNumberOfMessages).
	Total int
	// InFlight counts the messages received and neither deleted nor
	// visible again (ApproximateNumberOfMessagesNotVisible).
	InFlight int
}

// Counts returns the number of messages in the queue at queueURL.
func (s *Server) Counts(ctx context.Context, queueURL string) (Counts, error) {
	out, err := s.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return Counts{}, fmt.Errorf("sqstest: counts of %s: %w", queueURL, err)
	}
	total, err1 := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	inFlight, err2 := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	if err := errors.Join(err1, err2); err != nil {
		return Counts{}, fmt.Errorf("sqstest: counts of %s: %w", queueURL, err)
	}
	return Counts{Total: total, InFlight: inFlight}, nil
}

// NewClient returns an SQS client for the server at endpoint: Region
// us-east-1, static dummy credentials, and nothing read from the
// environment or ~/.aws.
func NewClient(endpoint string, optFns ...func(*sqs.Options)) *sqs.Client {
	o := sqs.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local", ""),
	}
	return sqs.New(o, optFns...)
}

// Binary returns the path of the goaws executable at the version pinned in
// go.mod: `go tool -n` prints it, building it into the Go build cache on
// first use. If that yields no executable, goaws is built into the user
// cache directory.
func Binary(ctx context.Context) (string, error) {
	root, err := process.ModuleRoot()
	if err != nil {
		return "", fmt.Errorf("sqstest: %w", err)
	}
	if p, ok := process.GoTool(ctx, root, goawsTool); ok {
		return p, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("sqstest: build goaws: %w", err)
	}
	p := filepath.Join(cache, "flexhook", "goaws", "goaws")
	build := exec.CommandContext(ctx, "go", "build", "-o", p, goawsTool)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("sqstest: build goaws: %w\n%s", err, out)
	}
	return p, nil
}
