package flex

// SetMaxEventPages lowers the page bound of an Events walk for a test; the
// returned function restores it.
func SetMaxEventPages(n int) (restore func()) {
	old := maxEventPages
	maxEventPages = n
	return func() { maxEventPages = old }
}
