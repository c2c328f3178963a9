package emulator

import (
	"context"
	"testing"
)

// BenchmarkInvokeWarm measures a warm invocation through the emulator.
func BenchmarkInvokeWarm(b *testing.B) {
	if fixture.err != nil || fixture.bootstrap == "" {
		b.Skipf("test fixture unavailable: %v", fixture.err)
	}
	in, err := Start(context.Background(), Options{Bootstrap: fixture.bootstrap, RIE: fixture.rie, LogLevel: "error"})
	if err != nil {
		b.Fatalf("Start() error = %v", err)
	}
	defer in.Close()
	payload := []byte(`{"echo":1}`)
	if _, err := in.Invoke(context.Background(), payload); err != nil {
		b.Fatalf("Invoke() error = %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if res, err := in.Invoke(context.Background(), payload); err != nil || res.Failed() {
			b.Fatalf("Invoke() = %s, %v", res.Payload, err)
		}
	}
}

// BenchmarkInvokeCold measures the first invocation of a fresh emulator,
// which starts the function process: a cold start. Starting and stopping the
// emulator is not timed.
func BenchmarkInvokeCold(b *testing.B) {
	if fixture.err != nil || fixture.bootstrap == "" {
		b.Skipf("test fixture unavailable: %v", fixture.err)
	}
	payload := []byte(`{"echo":1}`)
	for b.Loop() {
		b.StopTimer()
		in, err := Start(context.Background(), Options{Bootstrap: fixture.bootstrap, RIE: fixture.rie, LogLevel: "error"})
		if err != nil {
			b.Fatalf("Start() error = %v", err)
		}
		b.StartTimer()
		res, err := in.Invoke(context.Background(), payload)
		b.StopTimer()
		_ = in.Close()
		if err != nil || res.Failed() {
			b.Fatalf("Invoke() = %s, %v", res.Payload, err)
		}
		b.StartTimer()
	}
}
