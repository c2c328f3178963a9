package webhook

import (
	"strconv"
	"time"
)

func strconvUnix(t time.Time) string      { return strconv.FormatInt(t.Unix(), 10) }
func strconvUnixMilli(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
