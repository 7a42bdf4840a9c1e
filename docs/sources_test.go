// Package docs holds the project's documentation; its test checks that every
// file of the repository cites only sources a maintainer can check: public
// URLs or files under docs/, never a document or a machine path outside the
// repository.
package docs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// outside are names of documents and paths that exist only outside the
// repository. They are assembled from parts so this file does not name them.
var outside = []string{
	"alibaba" + "-wire.md",
	"ens-data-apis" + ".json",
	"/" + "work/",
	"../" + "shared",
	"/shared" + "/reference",
	"DESIGN" + ".md", // the design notes are not in the repository
}

// cite matches a citation of a numbered section of a Markdown file, as in
// "docs/wire.md §4" or "[wire.md](wire.md) §4".
var cite = regexp.MustCompile(`([A-Za-z0-9_-]+\.md)\)? §(\d+)`)

// sectionHeading matches a numbered section heading, "## 4. Title".
var sectionHeading = regexp.MustCompile(`(?m)^## (\d+)\. `)

// sections returns the numbered sections of every Markdown file under docs/,
// by file name.
func sections(t *testing.T, docsDir string) map[string]map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(docsDir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		secs := map[string]bool{}
		for _, m := range sectionHeading.FindAllSubmatch(b, -1) {
			secs[string(m[1])] = true
		}
		out[filepath.Base(f)] = secs
	}
	return out
}

// problems lists what is wrong with the sources file name cites: a name of
// something outside the repository, or a section citation that points to no
// file under docs/ or to a section that file lacks. docs maps each docs/ file
// to its numbered sections.
func problems(name string, content []byte, docs map[string]map[string]bool) []string {
	var out []string
	for i, line := range bytes.Split(content, []byte("\n")) {
		for _, o := range outside {
			if bytes.Contains(line, []byte(o)) {
				out = append(out, fmt.Sprintf("%s:%d names %q, which is outside the repository: cite a public URL or a file under docs/", name, i+1, o))
			}
		}
		for _, m := range cite.FindAllSubmatch(line, -1) {
			file, sec := string(m[1]), string(m[2])
			secs, ok := docs[file]
			switch {
			case !ok:
				out = append(out, fmt.Sprintf("%s:%d cites %s §%s, which is not a file under docs/", name, i+1, file, sec))
			case !secs[sec]:
				out = append(out, fmt.Sprintf("%s:%d cites docs/%s §%s, which has no heading \"## %s.\"", name, i+1, file, sec, sec))
			}
		}
	}
	return out
}

// repoFiles lists the repository's tracked files (relative to root) with git;
// where git cannot tell (no git, or a copy of the tree without .git), it walks
// the tree instead, leaving out .git and node_modules.
func repoFiles(t *testing.T, root string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "ls-files", "-z")
	cmd.Dir = root
	out, err := cmd.Output()
	if err == nil {
		var files []string
		for f := range strings.SplitSeq(strings.TrimSuffix(string(out), "\x00"), "\x00") {
			if f != "" {
				files = append(files, f)
			}
		}
		return files
	}
	t.Logf("git ls-files failed (%v); walking the tree", err)
	var files []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestSourcesScanner: the check catches each kind of bad citation and passes
// good ones, so TestNoSourcesOutsideTheRepository can fail.
func TestSourcesScanner(t *testing.T) {
	docs := map[string]map[string]bool{"wire.md": {"1": true, "4": true}}
	const sec = " §" // split so this file cites no missing section itself
	for _, tc := range []struct {
		line string
		bad  bool
	}{
		{"// Vectors from docs/wire.md §4.", false},
		{"see [wire.md](wire.md) §1", false},
		{"https://help.aliyun.com/document_detail/48054.html", false},
		{"paths like /tmp/ensmock-dockerd are runtime defaults", false},
		{"// Vectors from " + outside[0] + " §3.2.", true},
		{"(`" + outside[2] + "x/" + outside[1] + "`)", true},
		{"see " + outside[3] + "/notes.md", true},
		{"// as in docs/wire.md" + sec + "5.", true},       // no such section
		{"// as in docs/protocol.md" + sec + "1.", true},   // no such file
		{"// as in [wire.md](wire.md)" + sec + "9.", true}, // no such section
	} {
		got := problems("f.go", []byte("package x\n"+tc.line+"\n"), docs)
		if tc.bad != (len(got) > 0) {
			t.Errorf("%q: problems %q, want bad=%v", tc.line, got, tc.bad)
		}
		for _, p := range got {
			if !strings.HasPrefix(p, "f.go:2 ") {
				t.Errorf("%q: problem %q does not name f.go:2", tc.line, p)
			}
		}
	}
}

// TestNoSourcesOutsideTheRepository: no file of the repository names a
// document or a machine path outside it, and every "docs/<file>.md §N"
// citation points to an existing numbered section.
func TestNoSourcesOutsideTheRepository(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found: %v", err)
	}
	docs := sections(t, filepath.Join(root, "docs"))
	if len(docs["wire.md"]) == 0 {
		t.Fatal("docs/wire.md has no numbered sections")
	}
	files := repoFiles(t, root)
	if len(files) < 10 {
		t.Fatalf("only %d files found under %s", len(files), root)
	}
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the working tree, not yet in the index
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.IndexByte(b[:min(len(b), 8000)], 0) >= 0 {
			continue // binary
		}
		checked++
		for _, p := range problems(f, b, docs) {
			t.Error(p)
		}
	}
	t.Logf("checked %d text files", checked)
}
