package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// aegis-mcp's diagnostics go to stderr through log/slog: key=value text
// lines by default, one JSON object a line on request. The flags win over
// the environment variables (which a host's server entry can set).
const (
	envLogFormat = "AEGIS_MCP_LOG_FORMAT"
	envLogLevel  = "AEGIS_MCP_LOG_LEVEL"
)

// logFlags are --log-format and --log-level.
type logFlags struct{ format, level string }

func (l *logFlags) register(f *pflag.FlagSet) {
	f.StringVar(&l.format, "log-format", "", `diagnostics on stderr as "text" (key=value lines) or "json" (one object a line); default $`+envLogFormat+`, else text`)
	f.StringVar(&l.level, "log-level", "", `the least severe diagnostics shown: debug, info, warn or error; default $`+envLogLevel+`, else info`)
}

// logger builds the logger the flags (else the environment) ask for,
// writing to w.
func (l logFlags) logger(w io.Writer) (*slog.Logger, error) {
	format, formatFrom := setting(l.format, "--log-format", envLogFormat, "text")
	level, levelFrom := setting(l.level, "--log-level", envLogLevel, "info")
	var opts slog.HandlerOptions
	switch strings.ToLower(level) {
	case "debug":
		opts.Level = slog.LevelDebug
	case "info":
		opts.Level = slog.LevelInfo
	case "warn":
		opts.Level = slog.LevelWarn
	case "error":
		opts.Level = slog.LevelError
	default:
		return nil, fmt.Errorf("%s %q: use debug, info, warn or error", levelFrom, level)
	}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, &opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, &opts)), nil
	}
	return nil, fmt.Errorf("%s %q: use text or json", formatFrom, format)
}

// earlyLogger is the logger for what goes wrong before the flags are read
// (a bad flag, the stdout set-up): the environment's choice, else text.
func earlyLogger(w io.Writer) *slog.Logger {
	if l, err := (logFlags{}).logger(w); err == nil {
		return l
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// setting is the flag's value, else the environment variable's, else def,
// and where it came from (for messages).
func setting(flag, flagName, env, def string) (value, from string) {
	if flag != "" {
		return flag, flagName
	}
	if v := os.Getenv(env); v != "" {
		return v, "$" + env
	}
	return def, "the default"
}
