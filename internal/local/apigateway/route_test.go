package apigateway

import "testing"

func TestMatchRoute(t *testing.T) {
	routes := map[string]bool{"POST /crm": true, "POST /crm/{name}": true}
	for key, want := range map[string]bool{
		"POST /crm":           true,
		"POST /crm/zendesk":   true,
		"GET /crm/zendesk":    false,
		"POST /crm/":          false,
		"POST /crm/zendesk/x": false,
		"POST /crmx/zendesk":  false,
		"POST /taskrouter":    false,
	} {
		if got := matchRoute(routes, key); got != want {
			t.Errorf("matchRoute(%q) = %v, want %v", key, got, want)
		}
	}
}
