package genesys

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Endpoints are the three base URLs of one Genesys Cloud region: the platform API
// (https://api.<domain>), the login host that issues OAuth tokens (https://login.<domain>)
// and the web messaging guest WebSocket (wss://webmessaging.<domain>/v1). Pointing them at
// the sandbox (for example API and Login http://127.0.0.1:8090, WebMessaging
// ws://127.0.0.1:8090/v1) is how tests and the demo mode reach it.
type Endpoints struct {
	API          string
	Login        string
	WebMessaging string
}

// regionDomains maps each Genesys Cloud region name to its domain.
func regionDomains() map[string]string {
	return map[string]string{
		"us-east-1":      "mypurecloud.com",
		"eu-west-1":      "mypurecloud.ie",
		"ap-southeast-2": "mypurecloud.com.au",
		"ap-northeast-1": "mypurecloud.jp",
		"eu-central-1":   "mypurecloud.de",
		"us-west-2":      "usw2.pure.cloud",
		"ca-central-1":   "cac1.pure.cloud",
		"ap-northeast-2": "apne2.pure.cloud",
		"eu-west-2":      "euw2.pure.cloud",
		"ap-south-1":     "aps1.pure.cloud",
		"us-east-2":      "use2.us-gov-pure.cloud",
		"sa-east-1":      "sae1.pure.cloud",
		"me-central-1":   "mec1.pure.cloud",
		"ap-northeast-3": "apne3.pure.cloud",
		"eu-central-2":   "euc2.pure.cloud",
		"mx-central-1":   "mxc1.pure.cloud",
		"ap-southeast-1": "apse1.pure.cloud",
		"eusc-de-east-1": "edee1.eusc-pure.cloud",
	}
}

// Regions lists the region names RegionEndpoints accepts, sorted, for settings pages.
func Regions() []string {
	m := regionDomains()
	out := make([]string, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// RegionEndpoints returns the endpoints of a Genesys Cloud region given either its name
// ("eu-west-1") or its domain ("mypurecloud.ie"); case and surrounding spaces are ignored,
// and "api."/"login." prefixes on a domain are tolerated because administrators often paste
// a host from their browser.
func RegionEndpoints(region string) (Endpoints, error) {
	r := strings.ToLower(strings.TrimSpace(region))
	r = strings.TrimPrefix(strings.TrimPrefix(r, "https://"), "http://")
	r = strings.TrimSuffix(r, "/")
	for _, p := range []string{"api.", "login.", "apps.", "webmessaging."} {
		r = strings.TrimPrefix(r, p)
	}
	domains := regionDomains()
	domain, ok := domains[r]
	if !ok {
		for _, d := range domains {
			if d == r {
				domain, ok = d, true
				break
			}
		}
	}
	if !ok {
		return Endpoints{}, fmt.Errorf("genesys: unknown region %q (want one of %s, or its domain)", region, strings.Join(Regions(), ", "))
	}
	return Endpoints{
		API:          "https://api." + domain,
		Login:        "https://login." + domain,
		WebMessaging: "wss://webmessaging." + domain + "/v1",
	}, nil
}

// Validate checks that API and Login are absolute http(s) URLs and WebMessaging, when set,
// an absolute ws(s) URL.
func (e Endpoints) Validate() error {
	check := func(name, raw string, schemes ...string) error {
		u, err := url.Parse(raw)
		if err != nil {
			return fmt.Errorf("genesys: %s endpoint: %w", name, err)
		}
		for _, s := range schemes {
			if u.Scheme == s && u.Host != "" {
				return nil
			}
		}
		return fmt.Errorf("genesys: %s endpoint %q must be an absolute %s URL", name, raw, strings.Join(schemes, " or "))
	}
	if err := check("API", e.API, "https", "http"); err != nil {
		return err
	}
	if err := check("Login", e.Login, "https", "http"); err != nil {
		return err
	}
	if e.WebMessaging != "" {
		if err := check("WebMessaging", e.WebMessaging, "wss", "ws"); err != nil {
			return err
		}
	}
	return nil
}
