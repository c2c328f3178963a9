package webhook

import (
	"context"
	"errors"

	"github.com/flexhook/flexhook/internal/gateway"
)

// crm handles POST /crm. (Filled in with the crm package.)
func (h *Handler) crm(ctx context.Context, req *gateway.Request, rec *record) (gateway.Response, error) {
	return gateway.Response{}, errors.New("not yet")
}

func isCRMAuth(error) bool                          { return false }
func isCRMInvalid(error) bool                       { return false }
func crmInvalidResponse(err error) gateway.Response { return errorResponse(422, err.Error()) }
func crmAuthMessage(error) string                   { return "unauthorized" }
