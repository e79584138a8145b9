package app

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"rendezvous"
)

// TestCatalogComplete finds every phrase the pages translate (T("...") in Go, .T "..." in
// templates, and the navigation's labels) and checks that German and Greek have it, with
// the same %-verbs in the same order.
func TestCatalogComplete(t *testing.T) {
	goPhrase := regexp.MustCompile(`\bT\("((?:[^"\\]|\\.)*)"`)
	tmplPhrase := regexp.MustCompile(`\.T "((?:[^"\\]|\\.)*)"`)
	phrases := map[string]string{}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goPhrase.FindAllStringSubmatch(string(b), -1) {
			phrases[m[1]] = f
		}
	}
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, path)
		for _, m := range tmplPhrase.FindAllStringSubmatch(string(b), -1) {
			phrases[m[1]] = path
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range navItems(adminForTest()) {
		phrases[item.Label] = "navItems"
	}
	for _, m := range flashes {
		phrases[m] = "flashes"
	}
	for _, k := range auditKinds {
		phrases[k.Label] = "auditKinds"
	}
	for _, sec := range adminSections {
		phrases[sec.Label] = "adminSections"
		phrases[sec.Summary] = "adminSections"
	}
	if len(phrases) < 150 {
		t.Fatalf("found only %d phrases; is the search broken?", len(phrases))
	}
	verbs := regexp.MustCompile(`%[a-z]`)
	for p, where := range phrases {
		p = strings.ReplaceAll(p, `\"`, `"`)
		for _, lang := range []string{"de", "el"} {
			got, ok := catalog[lang][p]
			if !ok {
				t.Errorf("%s: no %s for %q", where, lang, p)
				continue
			}
			if a, b := verbs.FindAllString(p, -1), verbs.FindAllString(got, -1); strings.Join(a, "") != strings.Join(b, "") {
				t.Errorf("%s %q: verbs %v, English has %v", lang, got, b, a)
			}
		}
	}
}

func adminForTest() rendezvous.StaffUser { return rendezvous.StaffUser{Role: rendezvous.RoleAdmin} }
