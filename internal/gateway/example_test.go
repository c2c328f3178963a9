package gateway_test

import (
	"fmt"

	"github.com/flexhook/flexhook/internal/gateway"
)

func Example() {
	payload := []byte(`{
	  "version": "2.0",
	  "rawPath": "/prod/crm",
	  "rawQueryString": "tenant=acme",
	  "headers": {"content-type": "application/json", "x-forwarded-proto": "https"},
	  "requestContext": {
	    "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
	    "stage": "prod",
	    "requestId": "Kx3YbjT2oAMEV8Q=",
	    "http": {"method": "POST", "sourceIp": "203.0.113.7"}
	  },
	  "body": "eyJ0YXNrX3NpZCI6IldUMSJ9",
	  "isBase64Encoded": true
	}`)
	req, err := gateway.Decode(payload, gateway.Options{MaxBody: 64 << 10})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(req.Shape, req.Method, req.Path)
	fmt.Println(req.PublicURL)
	fmt.Println(req.Header.Get("Content-Type"), string(req.Body))

	out, err := gateway.Encode(gateway.Response{
		Shape:  req.Shape,
		Status: 202,
		Header: map[string]string{"Content-Type": "application/json"},
		Body:   []byte(`{"accepted":true}`),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(out))
	// Output:
	// http POST /crm
	// https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/crm?tenant=acme
	// application/json {"task_sid":"WT1"}
	// {"statusCode":202,"headers":{"Content-Type":"application/json"},"multiValueHeaders":null,"body":"{\"accepted\":true}","cookies":null}
}
