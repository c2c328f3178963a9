// Command webhook is the flexhook webhook Lambda: it receives TaskRouter and
// CRM callbacks through API Gateway and closes Flex Interaction Channels —
// inline (sync mode) or through the close queue (durable mode, when
// CLOSE_QUEUE_URL is set). This file is wiring only; the behaviour lives in
// internal/.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/dependencies"
	"github.com/flexhook/flexhook/internal/queue"
	"github.com/flexhook/flexhook/internal/webhook"
)

// newHandler builds the handler from its configuration and container, once
// per container.
func newHandler(ctx context.Context, cfg config.Webhook, k *dependencies.Container) (*webhook.Handler, error) {
	o := webhook.Options{Metrics: k.Metrics}
	if cfg.CloseQueueURL != "" {
		o.Queue = queue.NewSender(sqs.NewFromConfig(k.AWS), cfg.CloseQueueURL)
	}
	h := webhook.New(cfg, k.Close, k.Twilio.Secrets, k.Twilio.API, k.Log, o)
	// The secret was fetched by dependencies.Start: a CRM source left without
	// its crm_sources entry fails the cold start here, named.
	if err := h.CheckCRMSources(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

func main() { dependencies.Main("webhook", os.Getenv, config.LoadWebhook, newHandler) }
