package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aegisdev/aegis/policy"
)

// newInitCmd is `aegis init`: write a starter policy for a project.
func newInitCmd() *cobra.Command {
	var lang, output string
	var force bool
	cmd := &cobra.Command{
		Use:   "init --lang LANG [-o FILE] [--force]",
		Short: "Write a commented starter policy for a project",
		Long: `init writes a starter aegis.toml for one ecosystem: the toolchain's source and build
directories readable and writable, its commands allowed, its usual secret files denied,
and publishing, history rewriting (git push --force, reset --hard, ...) and inline-code
flags denied. It inherits secure-defaults, so credentials, shells, network tools and
private addresses stay denied. Every line is commented: read it, then narrow it.

Languages: python, node, ruby, rust, go, java, dotnet, or auto to detect the language
from the files in the output's directory (pyproject.toml, package.json, Gemfile,
Cargo.toml, go.mod, pom.xml or build.gradle, *.csproj or *.sln).

The file is validated before it is written, and an existing file is never overwritten
without --force. "-o -" prints the policy instead.`,
		Example: `  aegis init --lang auto
  aegis init --lang python -o aegis.toml
  aegis init --lang go -o - | less
  aegis init --lang node --force`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if lang == "" {
				return usageError(cmd, fmt.Errorf("--lang is required: one of %s, or auto", strings.Join(languageNames(), ", ")))
			}
			dir := "."
			if output != "-" {
				dir = filepath.Dir(output)
			}
			absDir, err := filepath.Abs(dir)
			if err != nil {
				return fmt.Errorf("locate %s: %w", dir, err)
			}
			var s *starter
			if lang == "auto" {
				if s, err = detectLanguage(absDir); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "aegis: detected a %s project\n", s.title)
			} else if s, _ = starterFor(lang); s == nil {
				return usageError(cmd, fmt.Errorf("unknown language %q: one of %s, or auto", lang, strings.Join(languageNames(), ", ")))
			}
			text := s.render(filepath.Base(absDir))
			if output == "-" {
				if _, err := policy.LoadBytes("aegis init", []byte(text), absDir); err != nil {
					return fmt.Errorf("the %s template does not load (a bug in aegis): %w", s.lang, err)
				}
				_, err := fmt.Fprint(cmd.OutOrStdout(), text)
				return err
			}
			if err := writePolicyFile(output, text, force); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Wrote %s (%s). Next:\n  aegis policy validate %s\n  aegis policy show %s\n", output, s.title, output, output)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&lang, "lang", "l", "", "ecosystem: "+strings.Join(languageNames(), ", ")+", or auto")
	f.StringVarP(&output, "output", "o", "aegis.toml", `file to write, or "-" for stdout`)
	f.BoolVarP(&force, "force", "f", false, "overwrite an existing file")
	return cmd
}

// writePolicyFile validates text where it will live (the self-write guard
// depends on the real location) and then moves it into place, refusing to
// replace an existing file unless forced.
func writePolicyFile(path, text string, force bool) error {
	if _, err := os.Lstat(path); err == nil && !force {
		return &exitError{code: exitConfig, err: fmt.Errorf("%s already exists; pass --force to overwrite it", path)}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("check %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".aegis-init-*.toml")
	if err != nil {
		return fmt.Errorf("create a file in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(text); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if _, err := policy.Load(tmp.Name()); err != nil {
		return fmt.Errorf("the starter policy would not be valid in %s, so nothing was written: %w", dir, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("set permissions on %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("move the policy into place: %w", err)
	}
	return nil
}

// detectLanguage picks the one ecosystem whose marker files are in dir.
func detectLanguage(dir string) (*starter, error) {
	var found []*starter
	var evidence []string
	for i := range starters {
		s := &starters[i]
		for _, m := range s.markers {
			matches, err := filepath.Glob(filepath.Join(dir, m))
			if err != nil {
				return nil, fmt.Errorf("look for %s: %w", m, err)
			}
			if len(matches) > 0 {
				found = append(found, s)
				evidence = append(evidence, fmt.Sprintf("%s (%s)", filepath.Base(matches[0]), s.lang))
				break
			}
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, &exitError{code: exitConfig, err: fmt.Errorf("no project file found in %s to detect the language from; choose one with --lang %s",
			dir, strings.Join(languageNames(), "|"))}
	}
	sort.Strings(evidence)
	return nil, &exitError{code: exitConfig, err: fmt.Errorf("found files of several ecosystems in %s: %s; choose one with --lang",
		dir, strings.Join(evidence, ", "))}
}
