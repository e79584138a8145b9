package app

// catalog holds the pages' phrases in German and Greek, keyed by the English phrase (the
// English pages show the key itself). catalog_test.go checks that every phrase the pages
// use is here in both languages.
var catalog = map[string]map[string]string{
	"de": {},
	"el": {},
}
