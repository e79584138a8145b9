package notify

import (
	"slices"
	"strings"
	"testing"
)

// element is one start tag of rendered HTML: its name and attributes, in order.
type element struct {
	name  string
	attrs [][2]string // name, value (entities left as they are)
}

// startTags reads the start tags of s the way a browser's tokenizer does for the cases that
// matter here: tag names, attribute names, and quoted or unquoted values. Text, end tags
// and comments are skipped; the content of script, style and textarea is raw text.
func startTags(s string) []element {
	var out []element
	for i := 0; i < len(s); {
		if s[i] != '<' || i+1 >= len(s) || !isLetter(s[i+1]) {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && !strings.ContainsRune(" \t\n\f\r/>", rune(s[j])) {
			j++
		}
		el := element{name: strings.ToLower(s[i+1 : j])}
		for j < len(s) && s[j] != '>' {
			if strings.ContainsRune(" \t\n\f\r/", rune(s[j])) {
				j++
				continue
			}
			k := j
			for k < len(s) && !strings.ContainsRune(" \t\n\f\r/>=", rune(s[k])) {
				k++
			}
			name, val := strings.ToLower(s[j:k]), ""
			j = k
			if j < len(s) && s[j] == '=' {
				j++
				if j < len(s) && (s[j] == '"' || s[j] == '\'') {
					q := s[j]
					end := strings.IndexByte(s[j+1:], q)
					if end < 0 {
						end = len(s) - j - 1
					}
					val = s[j+1 : j+1+end]
					j += end + 2
				} else {
					k := j
					for k < len(s) && !strings.ContainsRune(" \t\n\f\r>", rune(s[k])) {
						k++
					}
					val, j = s[j:k], k
				}
			}
			el.attrs = append(el.attrs, [2]string{name, val})
		}
		out = append(out, el)
		i = j
		if raw := el.name; raw == "script" || raw == "style" || raw == "textarea" {
			if end := strings.Index(strings.ToLower(s[i:]), "</"+raw); end >= 0 {
				i += end
			}
		}
	}
	return out
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// skeleton is the tags and attribute names, which no value may change.
func skeleton(els []element) []string {
	var out []string
	for _, e := range els {
		out = append(out, "<"+e.name)
		for _, a := range e.attrs {
			out = append(out, " "+a[0])
		}
	}
	return out
}

// A variable is escaped for where it sits in the HTML part, so that no value (a customer's
// name, an organization's) adds an attribute, opens a tag, or makes a link run a script,
// wherever an administrator put it.
func TestHTMLVariablesEscapedByContext(t *testing.T) {
	hostileNames := []string{
		`x onmouseover=alert(1)`,
		`x" onmouseover="alert(1)`,
		`x' onmouseover='alert(1)`,
		`javascript:alert(1)`,
		` JaVaScRiPt:alert(1)`,
		`data:text/html,<script>alert(1)</script>`,
		`</p><script>alert(1)</script>`,
		`"><img src=x onerror=alert(1)>`,
		`x>`,
		`';alert(1);//`,
	}
	templates := map[string]string{
		"text":              `<p>Hello {customerName}</p>`,
		"unquoted attr":     `<p title={customerName}>Hi</p>`,
		"double-quoted":     `<p title="{customerName}">Hi</p>`,
		"single-quoted":     `<p title='{customerName}'>Hi</p>`,
		"href":              `<a href="{customerName}">open</a>`,
		"unquoted href":     `<a href={customerName}>open</a>`,
		"src":               `<img src="{customerName}" alt="">`,
		"style attr":        `<p style="color: {customerName}">Hi</p>`,
		"event handler":     `<p onclick="greet('{customerName}')">Hi</p>`,
		"script":            `<script>var n = "{customerName}";</script><p>x</p>`,
		"link then name":    `<a href="{link}">{customerName}</a>`,
		"two in one attr":   `<p title="{customerName} {orgName}">Hi</p>`,
		"textarea (rcdata)": `<textarea>{customerName}</textarea><p>x</p>`,
	}
	for tname, html := range templates {
		benign, err := Render(Template{Text: "t", HTML: html}, Vars{CustomerName: "zz", OrgName: "zz", Link: "https://meet.example.com/a/tok"})
		if err != nil {
			t.Errorf("%s: %v", tname, err)
			continue
		}
		want := skeleton(startTags(benign.HTML))
		for _, name := range hostileNames {
			m, err := Render(Template{Text: "t", HTML: html}, Vars{CustomerName: name, OrgName: name, Link: "https://meet.example.com/a/tok"})
			if err != nil {
				t.Errorf("%s with %q: %v", tname, name, err)
				continue
			}
			els := startTags(m.HTML)
			if got := skeleton(els); !slices.Equal(got, want) {
				t.Errorf("%s with %q changed the markup:\n%s\ngot  %q\nwant %q", tname, name, m.HTML, got, want)
			}
			for _, e := range els {
				for _, a := range e.attrs {
					v := strings.ToLower(strings.TrimSpace(a[1]))
					if (a[0] == "href" || a[0] == "src") && (strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "data:")) {
						t.Errorf("%s with %q: %s=%q", tname, name, a[0], a[1])
					}
				}
			}
		}
	}
	// Ordinary values come out as written, links whole.
	m, err := Render(Template{Text: "t", HTML: `<p title="{customerName}">Hi {customerName}, <a href="{link}">your link</a></p>`},
		Vars{CustomerName: "Μαρία O'Neil & Co", Link: "https://meet.example.com/a/AbC-_1"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.HTML, `href="https://meet.example.com/a/AbC-_1"`) || !strings.Contains(m.HTML, "Μαρία O&#39;Neil &amp; Co") {
		t.Errorf("ordinary values: %s", m.HTML)
	}
}

// A variable where no value can be written safely is refused when the template is saved,
// naming the html field.
func TestHTMLVariableInUnsafePlaceRefused(t *testing.T) {
	for _, html := range []string{
		`<p title="{customerName}>Hi</p>`,          // the attribute never ends
		`<script>var n = "{customerName}</script>`, // nor the script string
		`<p>Hi</p><a href="x`,
	} {
		err := Validate(ChannelEmail, Template{Subject: "s", Text: "t", HTML: html}, "en", "https://meet.example.com")
		if err == nil || !strings.Contains(err.Error(), "html") {
			t.Errorf("%s: %v, want a problem with html", html, err)
		}
	}
	// A text variable where html/template would filter its value out.
	for _, html := range []string{`<p {customerName}="x">Hi</p>`, `<a href="{customerName}">x</a>`, `<img src="{orgName}" alt="">`, `<a href={title}>x</a>`} {
		err := Validate(ChannelEmail, Template{Subject: "s", Text: "t", HTML: html}, "en", "https://meet.example.com")
		if err == nil || !strings.Contains(err.Error(), "html:") {
			t.Errorf("%s: %v, want a problem with html", html, err)
		}
	}
	if err := Validate(ChannelEmail, Template{Subject: "s", Text: "t", HTML: `<p title="{customerName}"><a href="{link}">{title}</a> <a href="{cancelLink}">cancel</a></p>`}, "en", "https://meet.example.com"); err != nil {
		t.Errorf("a template with links in href and names in text: %v", err)
	}
	if err := Validate(ChannelEmail, Template{Subject: "s", Text: "t", HTML: `<p>⟦rdv index . "x" rdv⟧</p>`}, "en", ""); err == nil {
		t.Error("the internal delimiters were accepted")
	}
	// html/template drops comments: a variable there reaches nobody.
	m, err := Render(Template{Text: "t", HTML: `<!-- {customerName} --><p>Hi</p>`}, Vars{CustomerName: "secret"})
	if err != nil || strings.Contains(m.HTML, "secret") {
		t.Errorf("comment: %q %v", m.HTML, err)
	}
}
