package flextest

// FlushCallbacks returns once every event emitted so far has been sent to
// the callback URL. Flows send their callbacks before returning; events
// caused by API requests (a close, a retention deletion) are sent in the
// background, and the tests wait for them with FlushCallbacks.
func (s *Server) FlushCallbacks() { s.flush() }
